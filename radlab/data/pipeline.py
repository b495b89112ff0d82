"""``tf.data`` input pipelines for training and evaluation, with Keras augmentation.

This is the only module in radlab that builds ``tf.data`` pipelines. TensorFlow and
Keras are imported inside the functions, so importing this module is cheap.

How the pipeline is built, and why
----------------------------------
The arrays are held in memory once (as given: ``uint8`` images stay ``uint8``, a
quarter of the memory of ``float32``). Every epoch draws one seeded permutation of
the sample indices; each batch is then *gathered* from the arrays in one vectorised
step, scaled to ``float32``, optionally augmented as a whole batch, and prefetched
while the model trains on the previous batch. Working on whole batches instead of
single images is what Keras itself does for NumPy arrays in ``model.fit``; it keeps
the per-image overhead of ``tf.data`` (a few microseconds each) out of the loop.
There is no ``cache()`` step: the data are already in memory, and caching would only
hold a second copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import tensorflow as tf

__all__ = ["AUGMENT_PRESETS", "as_dataset", "augmentation"]

#: Augmentation presets accepted by :func:`augmentation` and :func:`as_dataset`.
AUGMENT_PRESETS = ("radiograph", "ct")


def augmentation(kind: str = "radiograph", *, seed: int | None = 0) -> keras.Sequential:
    """Keras preprocessing layers for a radiology augmentation preset.

    All presets expect images scaled to [0, 1] with a trailing channel axis,
    ``(n, H, W, C)``, and return images of the same shape, still in [0, 1]. Areas
    moved in from outside the image are filled with 0 (black), so no anatomy is
    invented at the borders.

    **No flips.** Neither preset flips images left-right. On a chest radiograph the
    heart is on the patient's left; a flipped image shows situs inversus, a rare
    condition, and teaches the network that side does not matter. Labels that name
    a side (OrganAMNIST's ``kidney-left``, ``lung-right``...) would even become wrong.
    Add ``keras.layers.RandomFlip`` yourself only where laterality carries no meaning.

    Parameters
    ----------
    kind : {"radiograph", "ct"}
        ``"radiograph"``: rotation up to +-5 degrees, shift up to 5 % of the image
        size, zoom up to +-10 %, contrast and brightness up to +-10 % (exposure and
        detector differences). ``"ct"``: rotation up to +-10 degrees, shift up to
        10 %, zoom up to +-10 %, and no intensity changes, because grey values of a
        windowed CT image stand for Hounsfield units.
    seed : int or None, default 0
        Seed of the random layers (each layer gets ``seed + i``). None draws
        different augmentations on every run.

    Returns
    -------
    keras.Sequential
        The layers, for :func:`as_dataset` (``augment=``) or to look at:
        ``augmentation("radiograph")(images, training=True)``.
    """
    from keras import Sequential, layers

    def s(i: int) -> int | None:
        return None if seed is None else seed + i

    geometric = dict(fill_mode="constant", fill_value=0.0, interpolation="bilinear")
    if kind == "radiograph":
        stack = [
            layers.RandomRotation(5 / 360, seed=s(0), **geometric),  # factor: fraction of 2*pi
            layers.RandomTranslation(0.05, 0.05, seed=s(1), **geometric),
            layers.RandomZoom(0.1, seed=s(2), **geometric),
            layers.RandomContrast(0.1, value_range=(0.0, 1.0), seed=s(3)),
            layers.RandomBrightness(0.1, value_range=(0.0, 1.0), seed=s(4)),
        ]
    elif kind == "ct":
        stack = [
            layers.RandomRotation(10 / 360, seed=s(0), **geometric),
            layers.RandomTranslation(0.1, 0.1, seed=s(1), **geometric),
            layers.RandomZoom(0.1, seed=s(2), **geometric),
        ]
    else:
        raise ValueError(
            f"Unknown augmentation preset {kind!r}; choose one of {list(AUGMENT_PRESETS)}, "
            "or pass your own keras.Sequential of preprocessing layers."
        )
    return Sequential(stack, name=f"augment_{kind}")


def _as_images(x: Any) -> np.ndarray:
    """Validate images and give them a channel axis: (n, H, W[, C]) or (n, D, H, W, C)."""
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"x must be a numeric image array; got dtype {x.dtype}.")
    if x.ndim == 3:
        x = x[..., np.newaxis]  # (n, H, W) -> (n, H, W, 1): Keras wants a channel axis
    elif x.ndim not in (4, 5):
        raise ValueError(
            f"x must have shape (n, H, W), (n, H, W, C) or, for volumes, (n, D, H, W, C); "
            f"got {x.shape}. For a single image use x[np.newaxis]; for grey volumes of "
            "shape (n, D, H, W) add the channel axis yourself: x[..., np.newaxis]."
        )
    if len(x) == 0:
        raise ValueError("x holds no images (its first dimension is 0).")
    return x


def _scale(images: tf.Tensor, dtype: np.dtype) -> tf.Tensor:
    """Cast a batch to float32; uint8 grey values 0..255 become 0..1."""
    import tensorflow as tf

    images = tf.cast(images, tf.float32)
    if dtype == np.uint8:
        images = images * (1.0 / 255.0)
    return images


def as_dataset(
    x: Any,
    y: Any = None,
    batch_size: int = 32,
    *,
    augment: str | keras.Layer | None = None,
    shuffle: bool = True,
    seed: int | None = 0,
    prefetch: bool = True,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Turn image arrays into a batched ``tf.data.Dataset`` for ``model.fit``.

    Use one pipeline for training (shuffled, maybe augmented) and another for
    validation and testing (``shuffle=False``, no augmentation)::

        train = rl.data.as_dataset(x_train, y_train, augment="radiograph")
        val = rl.data.as_dataset(x_val, y_val, shuffle=False)
        history = model.fit(train, validation_data=val, epochs=epochs)

    Parameters
    ----------
    x : array, shape (n, H, W), (n, H, W, C) or (n, D, H, W, C)
        Images in pixels (or volumes in voxels). A channel axis is added to
        ``(n, H, W)``. ``uint8`` grey values 0..255 are scaled to ``float32`` in
        [0, 1]; ``bool`` masks become 0.0/1.0; every other dtype is cast to
        ``float32`` unchanged, so normalise HU or other raw values first (e.g. with
        :func:`radlab.window`). Images stay in their own dtype in memory and are
        converted one batch at a time.
    y : array, shape (n,) or (n, k), optional
        Labels, kept in their dtype: class indices, binary labels ``(n, 1)``, or
        multi-label 0/1 vectors ``(n, k)``. Without ``y`` the dataset yields
        images only (for ``model.predict``).
    batch_size : int, default 32
        Images per batch.
    augment : {None, "radiograph", "ct"} or keras.Layer, default None
        Random augmentation applied to each training batch: a preset name (see
        :func:`augmentation`; **no left-right flips**, because laterality matters
        in radiology: the heart is on the left) or your own ``keras.Sequential`` of
        preprocessing layers, called with ``training=True`` (any other callable
        gets the image batch alone). Presets expect values
        in [0, 1], which is what ``uint8`` input becomes. Use it for training only:
        never augment validation or test data. 2D images only.
    shuffle : bool, default True
        Draw a new order every epoch. Use False for validation and test data, so
        predictions line up with ``y``.
    seed : int or None, default 0
        Seed for the order of every epoch and for preset augmentations: the same
        seed gives the same batches on every run. None is different each run.
    prefetch : bool, default True
        Prepare the next batches while the model trains on the current one.
    drop_remainder : bool, default False
        Drop the last batch if it has fewer than ``batch_size`` images.

    Returns
    -------
    tf.data.Dataset
        Batches of ``float32`` images ``(b, H, W, C)``, or ``(images, labels)``
        when ``y`` is given.

    Raises
    ------
    ValueError
        Shapes that are not images, ``x`` and ``y`` of different lengths,
        augmentation of volumes, or an unknown preset.
    """
    import tensorflow as tf

    x = _as_images(x)
    n = len(x)
    if y is not None:
        y = np.asarray(y)
        if y.ndim not in (1, 2):
            raise ValueError(f"y must have shape (n,) or (n, k); got {y.shape}.")
        if len(y) != n:
            raise ValueError(
                f"x and y differ in length: {n} images but {len(y)} labels. "
                "Each image needs exactly one label row."
            )
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    batch_size = int(batch_size)

    if augment is None:
        augmenter = None
    elif isinstance(augment, str):
        augmenter = augmentation(augment, seed=seed)
    elif callable(augment):
        augmenter = augment
    else:
        raise TypeError(
            f"augment must be None, one of {list(AUGMENT_PRESETS)} or a Keras layer; "
            f"got {type(augment).__name__}."
        )
    if augmenter is not None and x.ndim != 4:
        raise ValueError(
            f"augment works on 2D images (n, H, W, C); x has shape {x.shape}. "
            "Augment volumes slice by slice, or train without augment=."
        )

    order = _batch_indices(n, batch_size, shuffle=shuffle, seed=seed,
                           drop_remainder=drop_remainder)
    order_batches = n // batch_size + (0 if drop_remainder or n % batch_size == 0 else 1)
    arrays = (x,) if y is None else (x, y)
    # The arrays travel as one repeated dataset element rather than as constants
    # captured in the map function: nothing large is copied into a graph.
    data = tf.data.Dataset.from_tensors(tuple(tf.convert_to_tensor(a) for a in arrays))
    ds = tf.data.Dataset.zip((order, data.repeat()))
    x_dtype = x.dtype

    def gather(indices, tensors):
        images = _scale(tf.gather(tensors[0], indices), x_dtype)
        if len(tensors) == 1:
            return images
        return images, tf.gather(tensors[1], indices)

    # Pure, stateless work: run batches in parallel, keeping their order.
    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    if augmenter is not None:
        import keras

        # Keras layers need training=True to be active outside model.fit.
        call_kwargs = {"training": True} if isinstance(augmenter, keras.Layer) else {}

        def augment_batch(*batch):
            images = augmenter(batch[0], **call_kwargs)
            images = tf.clip_by_value(images, 0.0, 1.0) if x_dtype == np.uint8 else images
            return (images, *batch[1:]) if len(batch) > 1 else images

        # Sequential on purpose: Keras random layers keep their random state in a
        # variable, and parallel calls would draw from it in a varying order, so
        # the same seed would no longer give the same augmentations. Each call is
        # vectorised over the batch, and prefetch overlaps it with training.
        ds = ds.map(augment_batch, num_parallel_calls=None)

    # flat_map hides the length from tf.data; state it, so Keras shows "12/147"
    # progress from the first epoch and does not warn that the data "ran out".
    ds = ds.apply(tf.data.experimental.assert_cardinality(order_batches))

    options = tf.data.Options()
    options.deterministic = True
    # tf.data's static graph rewrites (map fusion etc.) gain nothing on this short
    # batch-level pipeline but cost a graph serialisation round trip.
    options.experimental_optimization.apply_default_optimizations = False
    if shuffle or augmenter is not None:
        # The per-epoch seed (Dataset.random) and Keras's random layers keep state
        # outside the pipeline graph. Only checkpointing an iterator would need it,
        # which fit() does not do; say so, instead of tf.data refusing or warning.
        options.experimental_external_state_policy = (
            tf.data.experimental.ExternalStatePolicy.IGNORE
        )
    ds = ds.with_options(options)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def _batch_indices(
    n: int, batch_size: int, *, shuffle: bool, seed: int | None, drop_remainder: bool
) -> tf.data.Dataset:
    """A dataset of int64 index vectors, one per batch, reshuffled every epoch.

    Each iteration (each epoch of ``model.fit``) starts a new iterator; the
    ``Dataset.random(..., rerandomize_each_iteration=True)`` element then gives a
    new, seeded permutation, exactly like ``shuffle(reshuffle_each_iteration=True)``
    but drawn for all ``n`` samples at once.
    """
    import tensorflow as tf

    full = n // batch_size
    remainder = 0 if drop_remainder else n - full * batch_size
    if full == 0 and remainder == 0:
        raise ValueError(
            f"batch_size={batch_size} is larger than the {n} images and "
            "drop_remainder=True: the dataset would be empty."
        )

    def split(indices):
        parts = tf.data.Dataset.from_tensor_slices(
            tf.reshape(indices[: full * batch_size], (full, batch_size))
        )
        if remainder:
            parts = parts.concatenate(
                tf.data.Dataset.from_tensors(indices[full * batch_size:])
            )
        return parts

    if shuffle:
        base = seed if seed is not None else 0
        epoch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

        def permutation(epoch_seed):
            stateless_seed = tf.stack([tf.constant(base, tf.int64), epoch_seed])
            return tf.random.experimental.stateless_shuffle(
                tf.range(n, dtype=tf.int64), seed=stateless_seed
            )

        perms = epoch_seeds.take(1).map(permutation)
    else:
        perms = tf.data.Dataset.from_tensors(tf.range(n, dtype=tf.int64))
    return perms.flat_map(split)
