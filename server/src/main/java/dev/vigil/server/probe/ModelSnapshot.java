package dev.vigil.server.probe;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ProbeSnapshot;

import java.util.Map;

/**
 * One probed model's statistics as {@code /metrics} exposes them at this moment, for read-only views.
 *
 * @param model    the model name
 * @param settings the model's probe settings
 * @param snapshot the published snapshot: last closed window, else the open one (SPEC §4)
 * @param names    the sites' human names ({@link dev.vigil.probes.SiteNames}), by site
 */
public record ModelSnapshot(String model, ProbeSettings settings, ProbeSnapshot snapshot, Map<ProbeSite, String> names) {
    public ModelSnapshot {
        names = Map.copyOf(names);
    }

    /** The human name of a site; its tensor name when it has none. */
    public String name(ProbeSite site) {
        return names.getOrDefault(site, site.tensor());
    }
}
