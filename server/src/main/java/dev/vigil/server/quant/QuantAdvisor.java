package dev.vigil.server.quant;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.OnnxModels;
import dev.vigil.probes.QdqExport;
import dev.vigil.probes.stats.WindowInfo;
import dev.vigil.server.probe.RecordedRequest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The computations behind {@code GET /quantized/report}, each one bounded and run off the request path: the sweep
 * that ranks the sites ({@code 2 + sites} runs per recorded request) and the advice for one target (two runs per
 * recorded request per check, and two for the exported model's measurement).
 */
final class QuantAdvisor {
    private QuantAdvisor() {
    }

    /**
     * Ranks the sites on the recorded runs: fidelity with every site int8, then with each site alone int8.
     *
     * @throws IllegalArgumentException when the model cannot be quantized (opset below 13, nothing to quantize)
     */
    static SiteRanking sweep(byte[] model, Calibration calibration, WindowInfo window, Map<String, Double> clip,
                             List<RecordedRequest> requests, String maskInput) throws OrtException {
        long t0 = System.nanoTime();
        ModelProto proto = OnnxModels.parse(model);
        QdqExport.Result switchable = QdqExport.switchable(proto, clip);
        List<String> sites = switchable.quantizedSites();
        if (sites.isEmpty()) {
            throw new IllegalArgumentException("it has no float matmul_input site with a calibrated range to quantize");
        }
        Map<String, String> switches = switches(sites);
        List<Set<String>> sets = new ArrayList<>();
        sets.add(new LinkedHashSet<>(sites));
        for (String s : sites) {
            sets.add(Set.of(s));
        }
        try (SiteSweep sweep = new SiteSweep(model, proto, requests, maskInput);
             OrtSession session = sweep.open(switchable.model().toByteArray())) {
            List<OutputFidelity.Summary> r = sweep.switchable(session, switches, sets);
            Map<String, OutputFidelity.Summary> alone = new LinkedHashMap<>();
            for (int i = 0; i < sites.size(); i++) {
                alone.put(sites.get(i), r.get(i + 1));
            }
            return new SiteRanking(calibration, window, clip, requests, sweep.outputs(), sites, switches, r.get(0),
                    alone, cost(sweep, requests.size(), t0), Instant.now());
        }
    }

    /**
     * The smallest prefix of the ranking whose predicted fidelity reaches {@code target}; checked on the switchable
     * model and grown (by 1, 2, 4 ... sites) while the check misses; then measured on the exported model.
     */
    static KeepFp32Advice advise(byte[] model, SiteRanking ranking, double target, String maskInput)
            throws OrtException {
        long t0 = System.nanoTime();
        ModelProto proto = OnnxModels.parse(model);
        QdqExport.Result switchable = QdqExport.switchable(proto, ranking.clip());
        List<String> ranked = ranking.ranked();
        int k = 0;
        while (k < ranked.size() && ranking.predicted(k) < target) {
            k++;
        }
        double predicted = ranking.predicted(k);
        try (SiteSweep sweep = new SiteSweep(model, proto, ranking.requests(), maskInput);
             OrtSession session = sweep.open(switchable.model().toByteArray())) {
            OutputFidelity.Summary checked;
            for (int step = 1; ; step *= 2) {
                Set<String> quantized = new LinkedHashSet<>(ranking.sites());
                ranked.subList(0, k).forEach(quantized::remove);
                checked = sweep.switchable(session, ranking.switches(), List.of(quantized)).get(0);
                if (checked.cosineMean() >= target || k >= ranked.size()) {
                    break;
                }
                k = Math.min(ranked.size(), k + step);
                predicted = ranking.predicted(k);
            }
            List<String> keep = ranked.subList(0, k);
            QdqExport.Result export = QdqExport.export(proto, ranking.clip(), new LinkedHashSet<>(keep), Map.of());
            OutputFidelity.Summary measured = sweep.model(export.model().toByteArray());
            return new KeepFp32Advice(target, keep, predicted, checked, measured,
                    cost(sweep, ranking.requests().size(), t0));
        }
    }

    /** Each site's switch input in the switchable model. */
    private static Map<String, String> switches(List<String> sites) {
        Map<String, String> out = new LinkedHashMap<>();
        sites.forEach(s -> out.put(s, s + QdqExport.SWITCH_SUFFIX));
        return out;
    }

    private static SiteRanking.Cost cost(SiteSweep sweep, int requests, long t0) {
        return new SiteRanking.Cost(requests == 0 ? 0 : sweep.runs() / requests, sweep.runs(), sweep.sessions(),
                (System.nanoTime() - t0) / 1_000_000);
    }
}
