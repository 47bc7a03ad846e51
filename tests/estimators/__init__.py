"""Each estimator's own behaviour: scikit-learn's contract, defaults, weights, sparse data."""
