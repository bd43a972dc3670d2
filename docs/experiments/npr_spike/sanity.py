"""Do the native NPR features see a known 2x up-sampling at all? Real native patches (64x64 centre
of the 128 patch) up-sampled 2x (nearest / bilinear / bicubic) vs the same reals' 128 patches,
optionally JPEG q90 after; fit on half of the images, AUC on the other half (npr_r group only)."""
import io, sys
import numpy as np, pandas as pd, cv2
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
sys.path.insert(0, '.')
from feats import features, luma
df = pd.read_csv('feats.csv', usecols=['set', 'label', 'patch_h', 'patch_w', 'method'])
P = np.load('patch_native128.npy', mmap_mode='r')
rng = np.random.default_rng(0)
idx = np.where((df.set == 'share') & (df.label == 'real') & (df.patch_h == 128) & (df.patch_w == 128))[0]
idx = rng.choice(idx, 300, replace=False)
def j90(x):
    b = io.BytesIO(); Image.fromarray(x).save(b, 'JPEG', quality=90); return np.array(Image.open(b).convert('RGB'))
for interp in ('nearest', 'bilinear', 'bicubic'):
    for jp in (False, True):
        F, y = [], []
        for i in idx:
            p = np.array(P[i])
            up = cv2.resize(p[32:96, 32:96], (128, 128), interpolation={'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR, 'bicubic': cv2.INTER_CUBIC}[interp])
            for img, lab in ((p, 0), (up, 1)):
                if jp: img = j90(img)
                f = features(luma(img)); F.append([v for k, v in f.items() if k.startswith('npr_r')]); y.append(lab)
        F, y = np.clip(np.nan_to_num(np.array(F)), -50, 50), np.array(y)
        half = np.arange(len(y)) < len(y) // 2
        m = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000)).fit(F[half], y[half])
        print(interp, 'jpeg90' if jp else 'raw', 'AUC %.3f' % roc_auc_score(y[~half], m.decision_function(F[~half])), flush=True)
