package dev.vigil.probes.stats;

/**
 * Which window a set of gauges covers.
 *
 * @param index    0-based window number since start
 * @param closed   true for a closed window, false for the still-open first window
 * @param tokens   unmasked tokens the window covers
 * @param requests probed requests the window covers
 */
public record WindowInfo(long index, boolean closed, long tokens, long requests) {
}
