"""MobileNetV2-0.35 (ImageNet init) on NPR residual images (luma NPR x3 channels) or raw pixels.
mode: npr_native (128 patch at native res), npr_resized (160 face crop, scanner input), raw_native.
Fit on share train only, report share val and wild (validation) AUC with bootstrap intervals."""
import os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, pandas as pd, tensorflow as tf
from sklearn.metrics import roc_auc_score
tf.config.threading.set_intra_op_parallelism_threads(2); tf.config.threading.set_inter_op_parallelism_threads(1)
mode = sys.argv[1]
W = "/work/shared/weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
df = pd.read_csv("feats.csv", usecols=["set", "label", "split", "method"])
y = (df.label == "fake").astype(np.float32).values
P = np.load("patch_native128.npy" if "native" in mode else "patch_resized160.npy").astype(np.float32)
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
base = tf.keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights=W, input_shape=(size, size, 3))
inp = tf.keras.Input((size, size, 3)); h = base(inp)
h = tf.keras.layers.GlobalAveragePooling2D()(h); h = tf.keras.layers.Dropout(0.2)(h)
model = tf.keras.Model(inp, tf.keras.layers.Dense(1)(h))
cw = {0: len(y[tr]) / (2 * (y[tr] == 0).sum()), 1: len(y[tr]) / (2 * (y[tr] == 1).sum())}
loss = tf.keras.losses.BinaryCrossentropy(from_logits=True)
t0 = time.time()
base.trainable = False
model.compile(tf.keras.optimizers.Adam(1e-3), loss)
model.fit(X[tr], y[tr], batch_size=32, epochs=2, class_weight=cw, verbose=2)
base.trainable = True
model.compile(tf.keras.optimizers.Adam(1e-4), loss)
model.fit(X[tr], y[tr], batch_size=32, epochs=int(sys.argv[2]) if len(sys.argv) > 2 else 8, class_weight=cw, verbose=2)
train_s = time.time() - t0
rng = np.random.default_rng(0)
def boot(yy, s, n=1000):
    pos, neg = np.where(yy == 1)[0], np.where(yy == 0)[0]
    a = roc_auc_score(yy, s); v = []
    for _ in range(n):
        i = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]); v.append(roc_auc_score(yy[i], s[i]))
    lo, hi = np.percentile(v, [2.5, 97.5]); return f"{a:.2f} [{lo:.2f},{hi:.2f}]"
s = model.predict(X, batch_size=64, verbose=0)[:, 0]
row = {"variant": f"CNN {mode}", "share_val": boot(y[va], s[va]), "wild_all": boot(y[wi], s[wi])}
wdf = df[wi].reset_index(drop=True); sw = s[wi]; yw = y[wi]
for m in ["diffusion_sd15_lora_facechain", "gan_stylegan2", "diffusion_unknown_portrait", "diffusion_sdxl"]:
    sel = (wdf.label == "real").values | (wdf.method == m).values
    row[m] = boot(yw[sel], sw[sel])
row["train_s"] = round(train_s)
print(row, flush=True)
pd.DataFrame([row]).to_csv(f"cnn_{mode}.csv", index=False)
wdf.assign(score=sw).to_csv(f"cnn_{mode}_wild_scores.csv", index=False)
