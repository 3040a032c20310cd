"""scikit-learn anchors of bench/automl.ts: HistGradientBoostingClassifier and MLPClassifier with
default settings, fitted on a training CSV and scored on a test CSV (last column the class).
Prints one JSON line: {"hgb": accuracy, "mlp": accuracy, "sklearn": version}."""
import json
import sys

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.neural_network import MLPClassifier


def read(path):
    rows = np.loadtxt(path, delimiter=",", dtype=str, skiprows=1)
    return rows[:, :-1].astype(float), rows[:, -1]


def main():
    train_x, train_y = read(sys.argv[1])
    test_x, test_y = read(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    scores = {}
    for name, model in (
        ("hgb", HistGradientBoostingClassifier(random_state=seed)),
        ("mlp", MLPClassifier(random_state=seed)),
    ):
        model.fit(train_x, train_y)
        scores[name] = float((model.predict(test_x) == test_y).mean())
    scores["sklearn"] = sklearn.__version__
    print(json.dumps(scores))


if __name__ == "__main__":
    main()
