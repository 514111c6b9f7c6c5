package dev.vigil.server.startup;

import dev.vigil.server.serving.ModelRepository;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The start-up model table, like Triton's: a header with the device, then one line per model of the repository
 * with its state and, for a served model, the device and its probe sites per kind, or why it is not served.
 */
public final class ModelTable {
    private static final String READY = "READY";
    private static final String UNAVAILABLE = "UNAVAILABLE";

    private ModelTable() {
    }

    /**
     * The table's lines.
     *
     * @param entries    the repository's models, in the order to list them
     * @param siteCounts probe sites per kind of a model (empty when it is not probed)
     * @param device     where the models run ("cpu", "cuda:0")
     */
    public static List<String> lines(Collection<ModelRepository.Entry> entries,
                                     Function<String, Map<String, Integer>> siteCounts, String device) {
        long ready = entries.stream().filter(ModelRepository.Entry::ready).count();
        int width = "model".length();
        for (ModelRepository.Entry e : entries) {
            width = Math.max(width, e.name().length());
        }
        List<String> lines = new ArrayList<>();
        lines.add(String.format("%d of %d model(s) ready on device %s", ready, entries.size(), device));
        lines.add(String.format("  %-" + width + "s  %-11s  %s", "model", "state", "device  probe sites / reason"));
        for (ModelRepository.Entry e : entries) {
            String detail = e.ready()
                    ? String.format("%-6s  %s%s", device, sites(siteCounts.apply(e.name())),
                            e.model().acceptsText() ? "; text input" : "")
                    : e.error();
            lines.add(String.format("  %-" + width + "s  %-11s  %s", e.name(), e.ready() ? READY : UNAVAILABLE,
                    detail));
        }
        return lines;
    }

    private static String sites(Map<String, Integer> counts) {
        if (counts.isEmpty()) {
            return "not probed";
        }
        StringBuilder s = new StringBuilder();
        for (Map.Entry<String, Integer> c : counts.entrySet()) {
            s.append(s.length() > 0 ? ", " : "").append(c.getKey()).append(' ').append(c.getValue());
        }
        return s.toString();
    }
}
