package dev.vigil.exporter;

/** The nonlinearity between the two projections of a feed-forward block. */
public enum MlpActivation {
    RELU,
    /** Exact GELU, {@code 0.5·x·(1+erf(x/√2))}, exported as that Erf pattern (opset 17 has no Gelu op). */
    GELU
}
