package dev.vigil.exporter;

import java.util.Locale;

/** The three encoder classifiers the exporter trains: where the norms sit and what mixes tokens. */
public enum Architecture {
    /** Self-attention, LayerNorm before each sub-block and once more before pooling. */
    PRENORM(TokenMixing.ATTENTION, true),
    /** Self-attention, LayerNorm after each residual sum (the original Transformer). */
    POSTNORM(TokenMixing.ATTENTION, false),
    /** ElasticFourierTransformer: a pre-norm encoder whose attention is a {@link SpectralMixer}. */
    EFT(TokenMixing.SPECTRAL, true);

    /** How a layer mixes information across token positions. */
    public enum TokenMixing { ATTENTION, SPECTRAL }

    private final TokenMixing mixing;
    private final boolean preNorm;

    Architecture(TokenMixing mixing, boolean preNorm) {
        this.mixing = mixing;
        this.preNorm = preNorm;
    }

    public TokenMixing mixing() {
        return mixing;
    }

    /** True when each sub-block normalizes its input and the encoder ends with a final LayerNorm. */
    public boolean preNorm() {
        return preNorm;
    }

    /** The lower-case name used on the command line and in model directories. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code prenorm|postnorm|eft} (any case). */
    public static Architecture parse(String name) {
        for (Architecture a : values()) {
            if (a.cliName().equalsIgnoreCase(name.trim())) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown architecture '" + name + "'; expected prenorm, postnorm or eft");
    }
}
