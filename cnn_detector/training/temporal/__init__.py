"""The temporal detector (issue 22): fakes that show over time, made from the share's real
videos and photos (`animate`, `clip_fakes`), the clips the engine would cut from them
(`dataset`), and the clip model trained on them (`model`, `train`)."""
