"""The numeric core shared by check and verify, one module per job:

    exact.py        the one evaluator: exact closed forms at a point, and their values to
                    any number of digits (precision raised until two evaluations agree)
    certify.py      certified signs and comparisons at a point (verify's judge)
    sampling.py     exact random draws: dyadic and small rationals, matrices, SPD matrices
    dims.py         dimension symbols: which there are, their sizes, drawing them
    kinks.py        kinks, domain edges, positive and SPD arguments, read from the registry
    differences.py  central differences with Richardson steps, and their error estimate
"""
