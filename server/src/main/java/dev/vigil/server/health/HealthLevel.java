package dev.vigil.server.health;

/**
 * How a value of the health view reads: what the page paints and the summary counts. Only {@link #ALARM} is an
 * alert's own condition ({@code grafana/alerts.yml}) evaluated on the snapshot; {@link #WARN} is a documented
 * sick range without an alert of its own.
 */
enum HealthLevel {
    /** No value (no data yet, or undefined). */
    NONE,
    /** A value with no good or bad direction by itself (e.g. a sink score): shown by magnitude only. */
    INFO,
    /** Inside the healthy range. */
    OK,
    /** In the sick range of docs/PROBES.md, or past an alert's threshold on a site kind the alert does not watch. */
    WARN,
    /** What an alert of {@code grafana/alerts.yml} fires on. */
    ALARM;

    /** The JSON value and the page's CSS class suffix. */
    String label() {
        return name().toLowerCase();
    }
}
