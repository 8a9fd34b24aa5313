"""FX graph mode quantization internals: tracing (tracer), fusion (fuse), which ops quantize (patterns), qconfig
resolution (qconfig_utils), observer insertion (prepare) and lowering (convert). The public API is
torch.ao.quantization.quantize_fx."""
