"""Exercises of notebook 02 (from rules to learning)."""

import numpy as np

from . import exercise


def _sens_spec(scores, labels, threshold):
    called = np.asarray(scores) >= threshold
    labels = np.asarray(labels).astype(bool)
    return called[labels].mean(), (~called[~labels]).mean()


@exercise("02.threshold", "A rule threshold with sensitivity of at least 0.8")
def rule_threshold(answer, *, scores, labels, min_sensitivity=0.8):
    threshold = float(answer)
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    sensitivity, specificity = _sens_spec(scores, labels, threshold)
    if sensitivity < min_sensitivity:
        return False, (f"at this threshold the rule finds {sensitivity:.0%} of the abnormal images; "
                       f"lower the threshold until it finds at least {min_sensitivity:.0%}")
    # the best specificity any threshold reaches while keeping the sensitivity
    candidates = np.unique(scores)
    best = max(_sens_spec(scores, labels, t)[1] for t in candidates
               if _sens_spec(scores, labels, t)[0] >= min_sensitivity)
    if specificity < best - 0.03:
        return False, (f"sensitivity {sensitivity:.0%} is reached, but specificity is only {specificity:.0%}: "
                       f"a higher threshold keeps the sensitivity and calls fewer normal images abnormal "
                       f"(up to {best:.0%} specificity is possible)")
    return True, ""


@exercise("02.glcm_contrast", "GLCM contrast of a tiny image with scikit-image")
def glcm_contrast(answer, *, image, levels):
    from skimage.feature import graycomatrix, graycoprops

    image = np.asarray(image, dtype=np.uint8)
    if np.size(answer) != 1:
        return False, "give one number: graycoprops returns a (distances, angles) array, take [0, 0]"
    value = float(np.ravel(answer)[0])

    def contrast(angle):
        glcm = graycomatrix(image, [1], [angle], levels=levels, symmetric=True, normed=True)
        return float(graycoprops(glcm, "contrast")[0, 0])

    if np.isclose(value, contrast(0.0)):  # symmetric or not, the contrast is the same
        return True, ""
    counts = graycomatrix(image, [1], [0.0], levels=levels)[:, :, 0, 0].astype(np.float64)
    i, j = np.indices(counts.shape)
    raw = (counts * (i - j) ** 2).sum()
    if np.isclose(value, raw) or np.isclose(value, 2 * raw):
        return False, "this is a sum over pair counts: use normed=True (or graycoprops) so that it is an average"
    if np.isclose(value, contrast(np.pi / 2)):
        return False, "that is the vertical neighbour (angle pi/2): the exercise asks for angle 0, left to right"
    return False, ("call graycomatrix(image, distances=[1], angles=[0], levels=..., symmetric=True, normed=True) "
                   "and then graycoprops(glcm, 'contrast')[0, 0]")


@exercise("02.two_features", "A logistic regression on two features")
def two_features(answer, *, x_val, y_val, min_auc=0.75):
    from sklearn.metrics import roc_auc_score

    model = answer
    if not hasattr(model, "predict_proba"):
        return False, "answer should be the fitted model (e.g. a scikit-learn pipeline), not its score"
    n_in = getattr(model, "n_features_in_", None)
    if n_in is None:
        return False, "the model has not been fitted yet: call .fit(x_train[:, columns], y_train)"
    if n_in != 2:
        return False, f"the model uses {n_in} features; choose exactly two columns"
    x_val = np.asarray(x_val)
    if x_val.shape[1] != 2:
        return False, "pass the two validation columns you trained on as x_val"
    auc = roc_auc_score(y_val, model.predict_proba(x_val)[:, 1])
    if auc < min_auc:
        return False, (f"validation AUC {auc:.3f} is below {min_auc}: look at the forest's feature importances "
                       "or the per-lung features for two that carry the finding")
    return True, ""
