package dev.vigil.server.quant;

import dev.vigil.probes.stats.WindowInfo;
import dev.vigil.server.probe.RecordedRequest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * What one sweep measured: on the recorded runs, the fidelity of the model with every site int8 and, per site, with
 * that site alone int8 (the others float). A site's deficit {@code 1 − cosine_mean} alone is the output error it
 * causes by itself; the ranking orders the sites by it.
 *
 * @param calibration the clip rule the sweep quantized with
 * @param window      the closed window the clip values come from
 * @param clip        per site tensor, its clip value {@code c}
 * @param requests    the recorded runs replayed
 * @param outputs     the float outputs compared
 * @param sites       the quantized sites, in site order
 * @param switches    per site, its switch input in the switchable model
 * @param allInt8     fidelity with every site int8
 * @param alone       per site, fidelity with that site alone int8
 * @param cost        what the sweep ran
 * @param at          when it finished
 */
record SiteRanking(Calibration calibration, WindowInfo window, Map<String, Double> clip,
                   List<RecordedRequest> requests, List<String> outputs, List<String> sites,
                   Map<String, String> switches, OutputFidelity.Summary allInt8,
                   Map<String, OutputFidelity.Summary> alone, Cost cost, Instant at) {

    /**
     * What a computation ran.
     *
     * @param passes   passes over the recorded runs (each runs every recorded request once per variant)
     * @param runs     ONNX Runtime runs, float references included
     * @param sessions sessions created
     * @param millis   wall-clock milliseconds
     */
    record Cost(long passes, long runs, long sessions, long millis) {
    }

    SiteRanking {
        clip = Map.copyOf(clip);
        requests = List.copyOf(requests);
        outputs = List.copyOf(outputs);
        sites = List.copyOf(sites);
        switches = Map.copyOf(switches);
        alone = Map.copyOf(alone);
    }

    /** A site's deficit: {@code 1 − cosine_mean} with it alone int8, at least 0. */
    double deficit(String site) {
        double c = alone.get(site).cosineMean();
        return Double.isNaN(c) ? 0 : Math.max(0, 1 - c);
    }

    /** The sites by deficit, largest first (site order among equals). */
    List<String> ranked() {
        List<String> out = new ArrayList<>(sites);
        out.sort(Comparator.comparingDouble((String s) -> -deficit(s)));
        return out;
    }

    /** The sum of every site's deficit. */
    double totalDeficit() {
        double sum = 0;
        for (String s : sites) {
            sum += deficit(s);
        }
        return sum;
    }

    /**
     * The predicted {@code cosine_mean} with the first {@code k} ranked sites kept float: deficits add (independent
     * rounding errors add in squared norm, and {@code 1 − cos} is half the squared relative error), scaled so that
     * keeping none predicts the measured all-int8 value.
     */
    double predicted(int k) {
        List<String> ranked = ranked();
        double total = totalDeficit();
        double all = allInt8.cosineMean();
        if (k >= ranked.size()) {
            return 1;
        }
        if (total == 0) {
            return all;
        }
        double rest = 0;
        for (int i = k; i < ranked.size(); i++) {
            rest += deficit(ranked.get(i));
        }
        return 1 - (1 - all) * rest / total;
    }
}
