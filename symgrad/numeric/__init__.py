"""The numeric core shared by check and verify, one module per job:

    exact.py        exact closed forms at a point (SymPy numbers, matrices written out)
    enclose.py      the one evaluator of "the truth": expressions to Arb balls at any
                    precision (points and boxes)
    reference.py    check_grad's reference values at a point, from those balls
    arrays.py       the same balls over whole arrays: a derived graph run node by node,
                    precision rising until every output is certified (check_grad's reference)
    ball_matrix.py  the matrix ops on balls (Arb matrices): products, inverses, slices, ...
    certify.py      certified signs and comparisons at a point (verify's judge)
    sampling.py     exact random draws: dyadic and small rationals, matrices, SPD matrices
    dims.py         dimension symbols: which there are, their sizes, drawing them
    kinks.py        kinks, domain edges, positive and SPD arguments, read from the registry
    differences.py  central differences with Richardson steps, and their error estimate
"""
