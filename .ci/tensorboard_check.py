#!/usr/bin/env python3
"""TensorBoard itself reads what `train-rnn --tensorboard DIR` writes.

Usage: PYTHON .ci/tensorboard_check.py path/to/train-rnn
(PYTHON: an interpreter with the `tensorboard` package; .ci/run makes a venv outside the project.)

(a) A short train-rnn run (LSTM-16, 3 epochs of 10 full batches) logs to a fresh directory; TensorBoard's
    EventAccumulator loads it, and every scalar's steps and values are checked against the run's
    --metrics CSV (the per-step losses average to each epoch's train_loss), the histograms' steps and
    counts against the parameters' sizes, the text and the hparams plugin's session data against the flags.
(b) Copies of the event file cut inside records, or with a flipped byte, are read by TensorBoard's
    event-file loader up to the last whole record before the damage, and those records are unchanged.
(c) A TensorBoard server on 127.0.0.1 (a free port) serves the scalars and histograms over its HTTP
    API; the values are checked, then the server is stopped.
"""
import csv
import glob
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from tensorboard.backend.event_processing import event_file_loader
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

HIDDEN, EPOCHS, LIMIT, BATCH, TEST_LIMIT = 16, 3, 640, 64, 500
STEPS_PER_EPOCH = LIMIT // BATCH
# LSTM(28 -> 16): four gates of 16 rows; then Linear(16 -> 10).
PARAMETER_SIZES = {"rnn.weight_ih_l0": 64 * 28, "rnn.weight_hh_l0": 64 * 16, "rnn.bias_ih_l0": 64,
                   "rnn.bias_hh_l0": 64, "fc.weight": 10 * 16, "fc.bias": 10}
LR = 0.01


def check(condition, message):
    if not condition:
        raise SystemExit("tensorboard_check: FAILED: " + message)


def float32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def run_train_rnn(train_rnn, work):
    logdir = os.path.join(work, "runs", "lstm")
    metrics = os.path.join(work, "metrics.csv")
    command = [train_rnn, "--cell", "lstm", "--hidden", str(HIDDEN), "--epochs", str(EPOCHS), "--limit", str(LIMIT),
               "--test-limit", str(TEST_LIMIT), "--batch-size", str(BATCH), "--lr", str(LR), "--threads", "1",
               "--no-progress", "--metrics", metrics, "--tensorboard", logdir]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    with open(metrics) as f:
        rows = list(csv.DictReader(f))
    check(len(rows) == EPOCHS, f"expected {EPOCHS} rows in the metrics CSV, got {len(rows)}")
    return logdir, rows


def check_with_event_accumulator(logdir, rows):
    """(a) Every scalar, histogram, the text and the hparams, as TensorBoard's reader loads them."""
    acc = EventAccumulator(logdir, size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    expected = {"train/loss", "train/mean_loss", "test/accuracy", "train/learning_rate"}
    check(set(tags["scalars"]) == expected, f"scalar tags {sorted(tags['scalars'])}, expected {sorted(expected)}")
    csv_steps = [int(r["step"]) for r in rows]
    check(csv_steps == [STEPS_PER_EPOCH * (e + 1) for e in range(EPOCHS)], f"CSV steps {csv_steps}")

    losses = acc.Scalars("train/loss")
    check([e.step for e in losses] == list(range(1, EPOCHS * STEPS_PER_EPOCH + 1)),
          f"train/loss steps {[e.step for e in losses]}")
    for epoch, row in enumerate(rows):
        # Every batch is full, so the epoch's train_loss is the plain mean of its steps' losses.
        values = [e.value for e in losses[epoch * STEPS_PER_EPOCH:(epoch + 1) * STEPS_PER_EPOCH]]
        mean = sum(values) / len(values)
        check(abs(mean - float(row["train_loss"])) <= 5.1e-7,
              f"epoch {epoch + 1}: mean of train/loss {mean:.9f}, CSV train_loss {row['train_loss']}")
    for tag, column, tolerance in [("train/mean_loss", "train_loss", 5.1e-7 + 1e-7), ("test/accuracy", "test_accuracy", 1e-4)]:
        events = acc.Scalars(tag)
        check([e.step for e in events] == csv_steps, f"{tag} steps {[e.step for e in events]}, CSV {csv_steps}")
        for e, row in zip(events, rows):
            check(abs(e.value - float(row[column])) <= tolerance * max(1, abs(e.value)),
                  f"{tag} at step {e.step}: {e.value}, CSV {column} {row[column]}")
    rates = acc.Scalars("train/learning_rate")
    check([(e.step, e.value) for e in rates] == [(s, float32(LR)) for s in csv_steps], f"train/learning_rate {rates}")

    names = [f"{kind}/{p}" for kind in ("weights", "gradients") for p in PARAMETER_SIZES]
    check(set(tags["histograms"]) == set(names), f"histogram tags {sorted(tags['histograms'])}")
    for name in names:
        events = acc.Histograms(name)
        check([e.step for e in events] == csv_steps, f"{name} steps {[e.step for e in events]}")
        for e in events:
            h = e.histogram_value
            size = PARAMETER_SIZES[name.split("/", 1)[1]]
            check(h.num == size and sum(h.bucket) == size, f"{name} at step {e.step}: num {h.num}, counts {sum(h.bucket)}, expected {size}")
            check(h.min <= h.max and list(h.bucket_limit) == sorted(h.bucket_limit), f"{name}: min/max or limits out of order")

    text = acc.Tensors("run/config")
    check(len(text) == 1 and b"--tensorboard" in text[0].tensor_proto.string_val[0], "text run/config")

    sessions = [d for d in glob.glob(os.path.join(logdir, "*")) if os.path.isdir(d)]
    check(len(sessions) == 1, f"expected one hparams run under {logdir}, found {sessions}")
    hp = EventAccumulator(sessions[0], size_guidance={"scalars": 0, "tensors": 0})
    hp.Reload()
    content = hp.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    check(start.hparams["hidden"].number_value == HIDDEN and start.hparams["cell"].string_value == "lstm"
          and start.hparams["lr"].number_value == LR, f"hparams {start.hparams}")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    check({m.name.tag for m in experiment.metric_infos} == {"hparam/test_accuracy", "hparam/train_loss"}, "hparams metrics")
    final = hp.Scalars("hparam/test_accuracy")
    check(len(final) == 1 and abs(final[0].value - float(rows[-1]["test_accuracy"])) < 1e-4, f"hparam/test_accuracy {final}")
    print(f"(a) EventAccumulator: {len(losses)} train/loss steps, {EPOCHS} evaluations x 3 scalars, "
          f"{len(names)} histogram series, text and hparams match the run's CSV and flags")


def record_ends(data):
    """The offsets where the TFRecords of `data` end (our own framing parser)."""
    ends, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        offset += 16 + length
        ends.append(offset)
    check(offset == len(data), "the event file does not end with a whole record")
    return ends


def load_raw(path):
    return list(event_file_loader.RawEventFileLoader(path).Load())


def check_damaged_files(logdir, work):
    """(b) Cut and corrupted copies are read up to their last whole record."""
    (path,) = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    with open(path, "rb") as f:
        data = f.read()
    ends = record_ends(data)
    original = load_raw(path)
    check(len(original) == len(ends), f"TensorBoard read {len(original)} records of {len(ends)}")
    starts = [0] + ends[:-1]
    cases = 0
    copy = os.path.join(work, "damaged", "events.out.tfevents.0.damaged")
    os.makedirs(os.path.dirname(copy))
    for k in sorted({1, 2, len(ends) // 2, len(ends) - 2, len(ends) - 1}):
        start, end = starts[k], ends[k]
        # Cuts inside record k: in its length, its length CRC, its data, its data CRC.
        for cut in sorted({start + 3, start + 8, start + 12, (start + end) // 2, end - 4, end - 1}):
            with open(copy, "wb") as f:
                f.write(data[:cut])
            loaded = load_raw(copy)
            check(loaded == original[:k], f"cut at byte {cut} (inside record {k}): read {len(loaded)} records, expected {k}")
            cases += 1
        # A flipped bit in record k's data: the CRC stops the reader before it.
        damaged = bytearray(data)
        damaged[(start + 12 + end - 4) // 2] ^= 0x10
        with open(copy, "wb") as f:
            f.write(bytes(damaged))
        loaded = load_raw(copy)
        check(loaded == original[:k], f"flipped byte in record {k}: read {len(loaded)} records, expected {k}")
        cases += 1
    # The accumulator over a cut copy keeps every step logged before the cut.
    cut_at = starts[len(ends) // 2] + 20
    shutil.rmtree(os.path.dirname(copy))
    os.makedirs(os.path.dirname(copy))
    with open(copy, "wb") as f:
        f.write(data[:cut_at])
    acc = EventAccumulator(os.path.dirname(copy), size_guidance={"scalars": 0})
    acc.Reload()
    whole = EventAccumulator(logdir, size_guidance={"scalars": 0})
    whole.Reload()
    kept = [(e.step, e.value) for e in acc.Scalars("train/loss")]
    check(kept == [(e.step, e.value) for e in whole.Scalars("train/loss")][:len(kept)] and len(kept) > 0,
          "the accumulator over a cut file")
    print(f"(b) {cases} cut or corrupted copies of a {len(ends)}-record file read up to the last whole record "
          f"(cut after train/loss step {kept[-1][0]}: steps 1-{kept[-1][0]} kept)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(port, path, **query):
    url = f"http://127.0.0.1:{port}{path}" + ("?" + urllib.parse.urlencode(query) if query else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def check_server(logdir, rows):
    """(c) A TensorBoard server serves the scalars over HTTP."""
    root = os.path.dirname(logdir)
    port = free_port()
    log = open(os.path.join(os.path.dirname(root), "tensorboard.log"), "w+")   # a pipe nobody reads would fill and stall it
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", root, "--host", "127.0.0.1",
                               "--port", str(port), "--reload_interval", "1"],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, tags = time.time() + 120, {}
        while time.time() < deadline:
            if server.poll() is not None:
                log.seek(0)
                check(False, "tensorboard exited: " + log.read()[-2000:])
            try:
                tags = get_json(port, "/data/plugin/scalars/tags")
                if len(tags.get("lstm", {})) == 4:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        check(len(tags.get("lstm", {})) == 4, f"the server did not list the run's four scalar tags in 120 s: {tags}")
        accuracy = get_json(port, "/data/plugin/scalars/scalars", run="lstm", tag="test/accuracy")
        check([(s, round(v, 2)) for _, s, v in accuracy] == [(int(r["step"]), float(r["test_accuracy"])) for r in rows],
              f"served test/accuracy {accuracy}")
        loss = get_json(port, "/data/plugin/scalars/scalars", run="lstm", tag="train/loss")
        check([s for _, s, _ in loss] == list(range(1, EPOCHS * STEPS_PER_EPOCH + 1)), "served train/loss steps")
        histograms = get_json(port, "/data/plugin/histograms/histograms", run="lstm", tag="weights/fc.weight")
        check([h[1] for h in histograms] == [int(r["step"]) for r in rows], "served weights/fc.weight steps")
        check(all(abs(sum(b[2] for b in h[2]) - PARAMETER_SIZES["fc.weight"]) < 1e-6 for h in histograms),
              "served weights/fc.weight counts")
        runs = get_json(port, "/data/runs")
        print(f"(c) tensorboard on 127.0.0.1:{port} served runs {runs}: test/accuracy {[round(v, 2) for _, _, v in accuracy]}, "
              f"{len(loss)} train/loss points, {len(histograms)} weight histograms")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    work = tempfile.mkdtemp(prefix="ember-tensorboard-check-")
    try:
        logdir, rows = run_train_rnn(os.path.abspath(sys.argv[1]), work)
        check_with_event_accumulator(logdir, rows)
        check_damaged_files(logdir, work)
        check_server(logdir, rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("tensorboard_check: passed")


if __name__ == "__main__":
    main()
