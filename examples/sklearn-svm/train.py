"""One trial of the SVM study: 3-fold cross-validated accuracy of an SVC on the digits data.

Run by `parsimony tune examples/sklearn-svm/study.yaml`; the parameters come as command-line options
(so it also runs by hand: python3 train.py --C 10 --gamma 0.001 --kernel rbf). After each
fold it reports the running mean accuracy, so the median pruner can stop a poor setting after the
first fold.
"""
import argparse
import gzip
import os
import sys

import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep __pycache__ out of the package's python/ folder
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import parsimony_trial  # noqa: E402

DATA = os.path.join(HERE, "..", "..", "assets", "datasets", "digits.csv.gz")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=1e-3)
    parser.add_argument("--kernel", default="rbf")
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()

    with gzip.open(DATA, "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    x, y = table[:, :-1] / 16.0, table[:, -1].astype(int)

    scores = []
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
    for step, (train, test) in enumerate(folds.split(x, y)):
        model = SVC(C=args.C, gamma=args.gamma, kernel=args.kernel)
        model.fit(x[train], y[train])
        scores.append(model.score(x[test], y[test]))
        print("fold %d: accuracy %.4f" % (step, scores[-1]))
        parsimony_trial.report(step, float(np.mean(scores)))

    parsimony_trial.attr("fold_scores", [round(s, 4) for s in scores])
    parsimony_trial.result(float(np.mean(scores)))


if __name__ == "__main__":
    main()
