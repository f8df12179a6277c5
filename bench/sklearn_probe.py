# Fits scikit-learn's LogisticRegression (C=1, lbfgs, tol 1e-4, max_iter 1000: the settings of
# ProbeScale's own fit) on features the bench wrote; prints fit time and test predictions as JSON.
import json, sys, time
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

d, ntr, nte, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
Xtr = np.fromfile(f'{d}/Xtr.f32', dtype=np.float32).reshape(ntr, dim).astype(np.float64)
ytr = np.fromfile(f'{d}/ytr.i32', dtype=np.int32)
Xte = np.fromfile(f'{d}/Xte.f32', dtype=np.float32).reshape(nte, dim).astype(np.float64)
t0 = time.perf_counter()
m = LogisticRegression(C=1.0, solver='lbfgs', tol=1e-4, max_iter=1000).fit(Xtr, ytr)
fit_ms = (time.perf_counter() - t0) * 1000
print(json.dumps({'fit_ms': fit_ms, 'pred': m.predict(Xte).tolist(), 'version': sklearn.__version__}))
