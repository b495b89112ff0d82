"""The Stop button in a real Jupyter kernel: a click sent while the training cell runs stops it.

A kernel normally reads browser messages only between cells; the dashboard polls
for them during training. This test plays the browser: it sends the Stop
button's click message over the kernel's shell channel mid-training.
"""

import time

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

SETUP = """
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, keras
import radlab as rl
x = np.random.default_rng(0).random((512, 16, 16, 1)).astype("float32")
y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")
model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
model.compile("adam", "binary_crossentropy")
board = rl.Dashboard(mode="widget", refresh_s=0.2)
print(board.stop_button.comm.comm_id)
"""

TRAIN = """
history = rl.fit(model, (x, y), epochs=EPOCHS, batch_size=8, dashboard=board)
print("epochs run:", len(history.history["loss"]), "| stopped:", board.state.stopped, board.state.stop_reason)
"""


def _run(kc, code, timeout=120, on_busy=None):
    """Execute ``code``; call ``on_busy`` once, 4 s in. Returns (stdout, errors, s from on_busy to idle)."""
    msg_id = kc.execute(code)
    texts, errors, t0, sent_at = [], [], time.time(), None
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "stream":
            texts.append(msg["content"]["text"])
        elif kind == "error":
            errors.append(msg["content"]["evalue"])
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(texts), errors, (time.time() - sent_at if sent_at else None)
        if on_busy and sent_at is None and time.time() - t0 > 4:
            on_busy()
            sent_at = time.time()


@pytest.mark.slow
def test_stop_button_click_ends_training_in_a_real_kernel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        out, errors, _ = _run(kc, SETUP)
        assert not errors, errors
        comm_id = out.strip().splitlines()[-1]

        def click():
            kc.session.send(kc.shell_channel.socket, "comm_msg", {
                "comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}})

        out, errors, click_to_end = _run(kc, TRAIN.replace("EPOCHS", "400"), on_busy=click)
        assert not errors, errors
        # epochs here are shorter than the refresh interval: the click must still land fast
        assert click_to_end is not None and click_to_end < 8, f"Stop took {click_to_end:.1f} s"
        epochs_run = int(out.split("epochs run:")[1].split("|")[0])
        assert 0 < epochs_run < 400, out
        assert "stopped: True Stop button" in out
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
