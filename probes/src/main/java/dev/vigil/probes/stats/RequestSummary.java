package dev.vigil.probes.stats;

import java.util.List;

/**
 * One request's own probe statistics (SPEC §2 {@code inspect}): every site's statistics computed over this request
 * alone — abs max, massive hits ({@code massive.total}, per channel), sink score per head, dead-in-this-request counts.
 *
 * @param unmaskedTokens the request's unmasked tokens
 * @param sites          per site, in site order
 */
public record RequestSummary(long unmaskedTokens, List<SiteSnapshot> sites) {
    public RequestSummary {
        sites = List.copyOf(sites);
    }
}
