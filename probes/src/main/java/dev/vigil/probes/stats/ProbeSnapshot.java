package dev.vigil.probes.stats;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

    /**
     * The calibration endpoint's entries (SPEC §5): quantization ranges per tensor name, in site order, one per tensor
     * (a tensor that is two sites has one set of ranges); {@link #window} says which window they cover.
     */
    public Map<String, QuantSnapshot> quantByTensor() {
        Map<String, QuantSnapshot> out = new LinkedHashMap<>();
        for (SiteSnapshot s : sites) {
            if (s.quant() != null) {
                out.putIfAbsent(s.site().tensor(), s.quant());
            }
        }
        return Collections.unmodifiableMap(out);
    }
}
