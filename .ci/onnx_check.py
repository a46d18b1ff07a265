"""Checks Ember's ONNX exports with the real `onnx` and `onnxruntime` packages.

Usage: python onnx_check.py DIRECTORY

DIRECTORY holds manifest.json (written by Ember's ONNXRuntimeTests) listing models:
  [{"name": ..., "model": "x.onnx", "runs": [{"inputs": {NAME: "file.npy"}, "outputs": {NAME: "file.npy"}}]}]
For each model this runs onnx.checker.check_model (full check, with shape inference), then runs every
input set through an onnxruntime InferenceSession and compares each output with the one Ember
computed: every element must satisfy |ort - ember| <= 1e-5 * max(|ember|, 1) (relative error 1e-5, or
absolute 1e-5 below magnitude 1); equal infinities and NaN on both sides agree. Prints the largest difference per model; exits 1 on any failure.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

TOLERANCE = 1e-5


def main(directory):
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    failures = 0
    for entry in manifest:
        path = os.path.join(directory, entry["model"])
        onnx.checker.check_model(path, full_check=True)
        model = onnx.load(path)
        ops = sorted({n.op_type for n in model.graph.node})
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        worst_abs, worst_rel, count = 0.0, 0.0, 0
        for run in entry["runs"]:
            feeds = {k: np.load(os.path.join(directory, v)) for k, v in run["inputs"].items()}
            names = list(run["outputs"].keys())
            results = session.run(names, feeds)
            for name, got in zip(names, results):
                want = np.load(os.path.join(directory, run["outputs"][name]))
                if got.shape != want.shape:
                    print(f"FAIL {entry['name']}: output {name} has shape {got.shape}, Ember's {want.shape}")
                    failures += 1
                    continue
                g64, w64 = got.astype(np.float64), want.astype(np.float64)
                # Equal values (the same infinity) and NaN on both sides agree; a NaN or infinity on
                # one side only is an infinite difference.
                same = (g64 == w64) | (np.isnan(g64) & np.isnan(w64))
                with np.errstate(invalid="ignore"):
                    diff = np.where(same, 0.0, np.abs(g64 - w64))
                diff = np.where(np.isnan(diff), np.inf, diff)
                scale = np.where(np.isfinite(w64), np.maximum(np.abs(w64), 1.0), 1.0)
                worst_abs = max(worst_abs, float(diff.max(initial=0)))
                worst_rel = max(worst_rel, float((diff / scale).max(initial=0)))
                count += want.size
        status = "ok" if worst_rel <= TOLERANCE else "FAIL"
        if status == "FAIL":
            failures += 1
        batches = ", ".join(str(list(np.load(os.path.join(directory, r["inputs"].get("input", next(iter(r["inputs"].values()))))).shape))
                            for r in entry["runs"])
        print(f"{status} {entry['name']}: onnx.checker passed; {count} values from inputs {batches}; "
              f"largest difference {worst_abs:.3g} (relative {worst_rel:.3g}); operators {' '.join(ops)}")
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}: {len(manifest) - failures} of {len(manifest)} models agree with Ember")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
