"""MobileNetV2-0.35 (ImageNet init) on NPR residual images (luma NPR x3 channels) or raw pixels.
mode: npr_native (128 patch at native res), npr_resized (160 face crop, scanner input), raw_native.
Fit on share train only, report share val and wild (validation) AUC with bootstrap intervals."""
import os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, pandas as pd, tensorflow as tf
from sklearn.metrics import roc_auc_score
tf.config.threading.set_intra_op_parallelism_threads(2); tf.config.threading.set_inter_op_parallelism_threads(1)
mode = sys.argv[1]
JAUG = "--jaug" in sys.argv
SIZEW = "--sizew" in sys.argv
import io
from PIL import Image
def j(x, q):
    b = io.BytesIO(); Image.fromarray(x).save(b, "JPEG", quality=int(q)); return np.array(Image.open(b).convert("RGB"))
W = "/work/shared/weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
df = pd.read_csv("feats.csv", usecols=["set", "label", "split", "method"])
y = (df.label == "fake").astype(np.float32).values
P8 = np.load("patch_native128.npy" if "native" in mode else "patch_resized160.npy")
P = P8.astype(np.float32)
def npr(x):
    yl = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    up = np.repeat(np.repeat(yl[:, ::2, ::2], 2, 1), 2, 2)
    r = (yl - up) / 16.0
    return np.repeat(r[..., None], 3, -1)
X = npr(P) if mode.startswith("npr") else P / 127.5 - 1.0
del P
tr = ((df.set == "share") & (df.split == "train")).values
va = ((df.set == "share") & (df.split == "val")).values
wi = (df.set == "wild").values
size = X.shape[1]
Xtr, ytr = X[tr], y[tr]
fp = pd.read_csv("feats.csv", usecols=["face_px"]).face_px.values[tr]
if SIZEW:  # face-size-matched: per half-octave bin of face px, real and fake weigh the same; one-class bins drop out
    b = np.floor(np.log2(np.maximum(fp, 8)) * 2).astype(int)
    wtr = np.zeros(len(b))
    for v in np.unique(b):
        r_, f_ = (b == v) & (ytr == 0), (b == v) & (ytr == 1)
        if r_.sum() and f_.sum():
            wtr[r_] = 0.5 / r_.sum(); wtr[f_] = 0.5 / f_.sum()
    wtr = wtr / wtr[wtr > 0].mean()
    print("size-matched bins kept", (wtr > 0).sum(), "of", len(wtr), "train images", flush=True)
else:
    wtr = np.where(ytr == 1, len(ytr) / (2 * ytr.sum()), len(ytr) / (2 * (ytr == 0).sum()))
if JAUG:
    rq = np.random.default_rng(1).uniform(60, 95, tr.sum())
    Pj = np.stack([j(p, q) for p, q in zip(P8[tr], rq)]).astype(np.float32)
    Xj = npr(Pj) if mode.startswith("npr") else Pj / 127.5 - 1.0
    Xtr, ytr, wtr = np.concatenate([Xtr, Xj]), np.concatenate([ytr, ytr]), np.concatenate([wtr, wtr])
Pw = np.stack([j(p, 90) for p in P8[wi]]).astype(np.float32)
Xw90 = npr(Pw) if mode.startswith("npr") else Pw / 127.5 - 1.0
base = tf.keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights=W, input_shape=(size, size, 3))
inp = tf.keras.Input((size, size, 3)); h = base(inp)
h = tf.keras.layers.GlobalAveragePooling2D()(h); h = tf.keras.layers.Dropout(0.2)(h)
model = tf.keras.Model(inp, tf.keras.layers.Dense(1)(h))
cw = {0: len(y[tr]) / (2 * (y[tr] == 0).sum()), 1: len(y[tr]) / (2 * (y[tr] == 1).sum())}
loss = tf.keras.losses.BinaryCrossentropy(from_logits=True)
t0 = time.time()
base.trainable = False
model.compile(tf.keras.optimizers.Adam(1e-3), loss)
model.fit(Xtr, ytr, batch_size=32, epochs=2, sample_weight=wtr, verbose=2)
base.trainable = True
model.compile(tf.keras.optimizers.Adam(1e-4), loss)
model.fit(Xtr, ytr, batch_size=32, epochs=8, sample_weight=wtr, verbose=2)
train_s = time.time() - t0
rng = np.random.default_rng(0)
def boot(yy, s, n=1000):
    pos, neg = np.where(yy == 1)[0], np.where(yy == 0)[0]
    a = roc_auc_score(yy, s); v = []
    for _ in range(n):
        i = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]); v.append(roc_auc_score(yy[i], s[i]))
    lo, hi = np.percentile(v, [2.5, 97.5]); return f"{a:.2f} [{lo:.2f},{hi:.2f}]"
s = model.predict(X, batch_size=64, verbose=0)[:, 0]
row = {"variant": f"CNN {mode}{' jaug' if JAUG else ''}{' sizew' if SIZEW else ''}", "share_val": boot(y[va], s[va]), "wild_all": boot(y[wi], s[wi])}
wdf = df[wi].reset_index(drop=True); sw = s[wi]; yw = y[wi]
for m in ["diffusion_sd15_lora_facechain", "gan_stylegan2", "diffusion_unknown_portrait", "diffusion_sdxl"]:
    sel = (wdf.label == "real").values | (wdf.method == m).values
    row[m] = boot(yw[sel], sw[sel])
s90 = model.predict(Xw90, batch_size=64, verbose=0)[:, 0]
row["wild_all_j90"] = boot(yw, s90)
for m in ["diffusion_sd15_lora_facechain", "gan_stylegan2", "diffusion_unknown_portrait"]:
    sel = (wdf.label == "real").values | (wdf.method == m).values
    row[m + "_j90"] = boot(yw[sel], s90[sel])
fm = pd.read_csv("feats.csv", usecols=["set", "fmt"])
fw = fm[fm.set == "wild"].fmt.values
for fmt_ in ("JPEG", "PNG"):
    sel = fw == fmt_
    row["wild_" + fmt_ + "_only"] = boot(yw[sel], sw[sel])
from scipy.stats import spearmanr
fpw = pd.read_csv("feats.csv", usecols=["set", "face_px"]).query("set == 'wild'").face_px.values
row["spearman_facepx_wild_real"] = round(spearmanr(sw[yw == 0], fpw[yw == 0])[0], 2)
row["train_s"] = round(train_s)
print(row, flush=True)
pd.DataFrame([row]).to_csv(f"cnn2_{mode}{'_jaug' if JAUG else ''}{'_sizew' if SIZEW else ''}.csv", index=False)
wdf.assign(score=sw).to_csv(f"cnn2_{mode}{'_jaug' if JAUG else ''}{'_sizew' if SIZEW else ''}_wild_scores.csv", index=False)
