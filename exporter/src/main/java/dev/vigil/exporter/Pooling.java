package dev.vigil.exporter;

/** How the encoder's token rows become one vector per sequence before the classification head. */
public enum Pooling {
    /** Mean over all token positions. */
    MEAN,
    /** The row of position 0. */
    FIRST
}
