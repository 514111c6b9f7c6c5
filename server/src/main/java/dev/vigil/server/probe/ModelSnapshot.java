package dev.vigil.server.probe;

import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ProbeSnapshot;

/**
 * One probed model's statistics as {@code /metrics} exposes them at this moment, for read-only views.
 *
 * @param model    the model name
 * @param settings the model's probe settings
 * @param snapshot the published snapshot: last closed window, else the open one (SPEC §4)
 */
public record ModelSnapshot(String model, ProbeSettings settings, ProbeSnapshot snapshot) {
}
