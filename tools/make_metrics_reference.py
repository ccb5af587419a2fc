"""Reference values for crates/metrics/src/reference_tests.rs, from scikit-learn and TensorFlow.

Run: /work/venv/bin/python tools/make_metrics_reference.py
Prints the inputs and expected values; paste them into the Rust test file. Inputs are
written out literally (rounded to 2 decimals so ties occur), so no seed is needed to
reproduce them.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import sklearn
import tensorflow as tf
from sklearn.metrics import (
    classification_report,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

print(f"# scikit-learn {sklearn.__version__}, tensorflow {tf.__version__}, numpy {np.__version__}")

rng = np.random.default_rng(11)

# Binary ROC AUC with many ties (scores rounded to 1 decimal).
scores = np.round(rng.random(20), 1).astype(np.float32)
positive = rng.random(20) < 0.4
print("roc scores:", [round(float(s), 1) for s in scores])
print("roc positive:", [bool(p) for p in positive])
print("roc_auc:", repr(roc_auc_score(positive, scores)))

# Multi-class one-vs-rest AUC (all classes present, rows are softmax outputs).
num_classes = 4
logits = rng.normal(size=(12, num_classes))
probs = np.round(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 2)
# The last column is recomputed so each row of 2-decimal values sums to 1, as sklearn requires.
probs[:, -1] = np.round(1.0 - probs[:, :-1].sum(1), 2)
probs = probs.astype(np.float32)
labels = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 0])
print("ovr scores:", [round(float(x), 2) for x in probs.ravel()])
print("ovr labels:", labels.tolist())
print("ovr macro auc:", repr(roc_auc_score(labels, probs, multi_class="ovr", average="macro")))

# Classification report with one class never predicted (zero_division=0).
y_true = [0, 1, 2, 2, 2, 1, 0, 0, 3, 3, 1, 2]
y_pred = [0, 2, 2, 2, 1, 1, 0, 1, 0, 2, 1, 2]
names = ["T-shirt/top", "Trouser", "Pullover", "Ankle boot"]
print("report true:", y_true)
print("report pred:", y_pred)
print("confusion:", confusion_matrix(y_true, y_pred, labels=range(4)).ravel().tolist())
for name, fn in [("precision", precision_score), ("recall", recall_score), ("f1", f1_score)]:
    print(f"macro {name}:", repr(fn(y_true, y_pred, labels=range(4), average="macro", zero_division=0)))
print("report:")
print(classification_report(y_true, y_pred, labels=range(4), target_names=names, zero_division=0))

# TensorFlow in_top_k with ties straddling the k boundary.
tie_scores = np.array([[0.9, 0.3, 0.3, 0.3], [0.1, 0.5, 0.5, 0.2], [0.4, 0.4, 0.4, 0.4]], np.float32)
tie_labels = np.array([2, 3, 1])
for k in (1, 2):
    hits = tf.math.in_top_k(tf.constant(tie_labels), tf.constant(tie_scores), k).numpy()
    print(f"in_top_k k={k}:", hits.tolist())
