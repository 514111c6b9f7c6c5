package dev.vigil.probes.stats;

import java.util.List;

/**
 * An immutable view of a model's probe statistics: gauges of the last closed window (or of the open window until one
 * closes), cumulative counters as of the latest probed request.
 *
 * @param window          the window the gauges cover
 * @param openWindowTokens unmasked tokens in the current open window ({@code vigil_window_tokens})
 * @param probedRequests  probed requests since start ({@code vigil_probe_requests_total})
 * @param probedTokens    unmasked tokens of probed requests since start
 * @param sites           per site, in site order
 */
public record ProbeSnapshot(WindowInfo window, long openWindowTokens, long probedRequests, long probedTokens,
                            List<SiteSnapshot> sites) {
    public ProbeSnapshot {
        sites = List.copyOf(sites);
    }
}
