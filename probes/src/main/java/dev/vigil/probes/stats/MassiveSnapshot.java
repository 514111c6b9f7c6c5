package dev.vigil.probes.stats;

import java.util.Map;

/**
 * Massive-activation statistics of one {@code residual} site (Sun et al. 2024).
 *
 * @param windowCount        massive elements in the window (or request)
 * @param ratio              max over sequences of {@code max|h| / median|h|} ({@code vigil_massive_activation_ratio});
 *                           +Inf when a sequence has median 0 and a nonzero value; NaN without data
 * @param firstTokenFraction fraction of the window's massive elements at their sequence's first unmasked position
 *                           ({@code vigil_massive_first_token_fraction}); NaN when the window has none (absent metric)
 * @param total              massive elements since start ({@code vigil_massive_activations_total}; for a request
 *                           summary, the request's own count)
 * @param channelHits        massive elements per channel since start ({@code vigil_massive_channel_hits_total}):
 *                           the first 16 distinct channels ever hit (in scan order: sequence, position, channel)
 *                           have their own key, the channel index as a string; the rest are summed under
 *                           {@code "other"}, present once such a hit happened. Iteration order is first-hit order.
 */
public record MassiveSnapshot(long windowCount, double ratio, double firstTokenFraction, long total,
                              Map<String, Long> channelHits) {
    /** The key of the channel-hit series that pools the channels beyond the first 16. */
    public static final String OTHER = "other";
    /** Channels that get their own series. */
    public static final int NAMED_CHANNELS = 16;
}
