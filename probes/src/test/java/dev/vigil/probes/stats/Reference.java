package dev.vigil.probes.stats;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Brute-force statistics written straight from SPEC §5, independent of the production code: double precision,
 * sorting for medians and percentiles, every pair for cosine, {@code Math.log} for entropy.
 */
final class Reference {
    private Reference() {
    }

    /** The real rows of one sequence of a site tensor, in position order. */
    record Sequence(List<double[]> rows) {
    }

    /** Splits a tensor by SPEC §3 "Masking": B·T leading rows are tokens (masked), B leading rows are sequences. */
    static List<Sequence> sequences(TapTensor t, ProbedBatch req) {
        long[] shape = t.shape();
        int width = (int) shape[shape.length - 1];
        long rows = 1;
        for (int i = 0; i < shape.length - 1; i++) {
            rows *= shape[i];
        }
        boolean tokenRows = rows == (long) req.batch() * req.tokens();
        int perSeq = tokenRows ? req.tokens() : 1;
        List<Sequence> out = new ArrayList<>();
        for (int b = 0; b < req.batch(); b++) {
            List<double[]> seq = new ArrayList<>();
            for (int i = 0; i < perSeq; i++) {
                if (tokenRows && req.mask() != null && req.mask()[b * req.tokens() + i] == 0) {
                    continue;
                }
                double[] row = new double[width];
                for (int j = 0; j < width; j++) {
                    row[j] = t.data().get((b * perSeq + i) * width + j);
                }
                seq.add(row);
            }
            out.add(new Sequence(seq));
        }
        return out;
    }

    static List<Sequence> windowSequences(List<ProbedBatch> window, String tensor) {
        List<Sequence> all = new ArrayList<>();
        for (ProbedBatch r : window) {
            if (r.tensors().containsKey(tensor)) {
                all.addAll(sequences(r.tensors().get(tensor), r));
            }
        }
        return all;
    }

    // ---- dead neurons ----
    record Dead(int neurons, double deadRatio, double dormantRatio) {
    }

    static Dead dead(List<Sequence> seqs, double tau) {
        int w = -1;
        List<double[]> rows = new ArrayList<>();
        for (Sequence s : seqs) {
            rows.addAll(s.rows());
        }
        if (rows.isEmpty()) {
            return new Dead(0, Double.NaN, Double.NaN);
        }
        w = rows.get(0).length;
        double[] meanAbs = new double[w];
        int dead = 0;
        for (int j = 0; j < w; j++) {
            boolean everPositive = false;
            for (double[] r : rows) {
                everPositive |= r[j] > 0;
                meanAbs[j] += Math.abs(r[j]) / rows.size();
            }
            if (!everPositive) {
                dead++;
            }
        }
        double meanOfMeans = Arrays.stream(meanAbs).sum() / w;
        int dormant = 0;
        for (int j = 0; j < w; j++) {
            double score = meanAbs[j] / meanOfMeans;
            if (meanOfMeans == 0 || score <= tau) {
                dormant++;
            }
        }
        return new Dead(w, (double) dead / w, (double) dormant / w);
    }

    // ---- massive activations ----
    record Massive(long count, long firstToken, double ratio, Map<Integer, Long> channelHits,
                   List<Integer> firstHitOrder) {
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    }

    static Massive massive(List<Sequence> seqs, double absThreshold, double medianRatio) {
        long count = 0;
        long first = 0;
        double ratio = Double.NaN;
        Map<Integer, Long> hits = new LinkedHashMap<>();
        List<Integer> order = new ArrayList<>();
        for (Sequence s : seqs) {
            if (s.rows().isEmpty()) {
                continue;
            }
            int w = s.rows().get(0).length;
            double[] abs = new double[s.rows().size() * w];
            double max = 0;
            for (int i = 0; i < s.rows().size(); i++) {
                for (int j = 0; j < w; j++) {
                    abs[i * w + j] = Math.abs(s.rows().get(i)[j]);
                    max = Math.max(max, abs[i * w + j]);
                }
            }
            double m = median(abs);
            if (max > 0) {
                double r = max / m;
                ratio = Double.isNaN(ratio) ? r : Math.max(ratio, r);
            }
            for (int i = 0; i < s.rows().size(); i++) {
                for (int j = 0; j < w; j++) {
                    double a = abs[i * w + j];
                    if (a > absThreshold && a > medianRatio * m) {
                        count++;
                        if (i == 0) {
                            first++;
                        }
                        if (!hits.containsKey(j)) {
                            order.add(j);
                        }
                        hits.merge(j, 1L, Long::sum);
                    }
                }
            }
        }
        return new Massive(count, first, ratio, hits, order);
    }

    // ---- token cosine ----
    static double cosine(List<Sequence> seqs) {
        double sum = 0;
        int n = 0;
        for (Sequence s : seqs) {
            List<double[]> rows = new ArrayList<>();
            for (double[] r : s.rows()) {
                if (norm(r) > 0) {
                    rows.add(r);
                }
            }
            if (rows.size() < 2) {
                continue;
            }
            double pairSum = 0;
            long pairs = 0;
            for (int i = 0; i < rows.size(); i++) {
                for (int k = 0; k < rows.size(); k++) {
                    if (i == k) {
                        continue;
                    }
                    double dot = 0;
                    for (int j = 0; j < rows.get(i).length; j++) {
                        dot += rows.get(i)[j] * rows.get(k)[j];
                    }
                    pairSum += dot / (norm(rows.get(i)) * norm(rows.get(k)));
                    pairs++;
                }
            }
            sum += pairSum / pairs;
            n++;
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    private static double norm(double[] r) {
        double s = 0;
        for (double v : r) {
            s += v * v;
        }
        return Math.sqrt(s);
    }

    // ---- quantization ranges ----
    record Quant(long count, double min, double max, double absMax, double p999, double p9999, double p99999,
                 double kurtosis, double sqnrAbsMax, double sqnrPercentile, int outliers) {
    }

    static double percentile(double[] sorted, double q) {
        double rank = q * (sorted.length - 1);
        int k = (int) Math.floor(rank);
        if (k + 1 >= sorted.length) {
            return sorted[sorted.length - 1];
        }
        return sorted[k] + (rank - k) * (sorted[k + 1] - sorted[k]);
    }

    static double sqnrDb(double[] x, double c) {
        double s = c / 127.0;
        double signal = 0;
        double noise = 0;
        for (double v : x) {
            double clipped = Math.max(-c, Math.min(c, v));
            double q = Math.rint(clipped / s) * s;
            signal += v * v;
            noise += (v - q) * (v - q);
        }
        return 10 * Math.log10(signal / noise);
    }

    static Quant quant(List<Sequence> seqs, double outlierThreshold) {
        List<double[]> rows = new ArrayList<>();
        for (Sequence s : seqs) {
            rows.addAll(s.rows());
        }
        int w = rows.isEmpty() ? 0 : rows.get(0).length;
        double[] x = new double[rows.size() * w];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, x, i * w, w);
        }
        return quant(x, w, outlierThreshold);
    }

    /** {@code x} row-major with {@code w} channels. */
    static Quant quant(double[] x, int w, double outlierThreshold) {
        double[] abs = new double[x.length];
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double mean = 0;
        for (int i = 0; i < x.length; i++) {
            abs[i] = Math.abs(x[i]);
            min = Math.min(min, x[i]);
            max = Math.max(max, x[i]);
            mean += x[i];
        }
        mean /= x.length;
        double m2 = 0;
        double m4 = 0;
        for (double v : x) {
            double d = v - mean;
            m2 += d * d / x.length;
            m4 += d * d * d * d / x.length;
        }
        Arrays.sort(abs);
        double absMax = abs[abs.length - 1];
        double p9999 = percentile(abs, 0.9999);
        int outliers = 0;
        for (int j = 0; j < w; j++) {
            double chanMax = 0;
            for (int i = j; i < x.length; i += w) {
                chanMax = Math.max(chanMax, Math.abs(x[i]));
            }
            if (chanMax > outlierThreshold) {
                outliers++;
            }
        }
        return new Quant(x.length, min, max, absMax, percentile(abs, 0.999), p9999, percentile(abs, 0.99999),
                m4 / (m2 * m2), sqnrDb(x, absMax), sqnrDb(x, p9999), outliers);
    }

    // ---- attention ----
    record Attention(long queries, double[] sink, double[] entropy, double maxKeyMass) {
    }

    /** p[b,h,i,k] of a [B,H,Tq,Tk] or [B*H,Tq,Tk] tensor with Tq == Tk == T. */
    static Attention attention(List<ProbedBatch> window, String tensor) {
        double[] sink = null;
        double[] entSum = null;
        long[] entN = null;
        double[][] mass = null;
        long[] massN = null;
        long queries = 0;
        for (ProbedBatch r : window) {
            TapTensor t = r.tensors().get(tensor);
            if (t == null) {
                continue;
            }
            long[] shape = t.shape();
            int h = shape.length == 4 ? (int) shape[1] : (int) (shape[0] / r.batch());
            int tq = (int) shape[shape.length - 2];
            int tk = (int) shape[shape.length - 1];
            if (sink == null) {
                sink = new double[h];
                entSum = new double[h];
                entN = new long[h];
                mass = new double[h][4096];
                massN = new long[4096];
            }
            for (int b = 0; b < r.batch(); b++) {
                List<Integer> keys = new ArrayList<>();
                List<Integer> qs = new ArrayList<>();
                for (int k = 0; k < tk; k++) {
                    if (r.mask() == null || r.mask()[b * r.tokens() + k] != 0) {
                        keys.add(k);
                    }
                }
                for (int i = 0; i < tq; i++) {
                    if (r.mask() == null || r.mask()[b * r.tokens() + i] != 0) {
                        qs.add(i);
                    }
                }
                if (keys.isEmpty() || qs.isEmpty()) {
                    continue;
                }
                queries += qs.size();
                for (int m = 0; m < keys.size(); m++) {
                    massN[m] += qs.size();
                }
                for (int hh = 0; hh < h; hh++) {
                    for (int i : qs) {
                        double[] p = new double[tk];
                        for (int k = 0; k < tk; k++) {
                            p[k] = t.data().get(((b * h + hh) * tq + i) * tk + k);
                        }
                        sink[hh] += p[keys.get(0)];
                        boolean causal = true;
                        int upToI = 0;
                        double ent = 0;
                        for (int m = 0; m < keys.size(); m++) {
                            int k = keys.get(m);
                            mass[hh][m] += p[k];
                            if (p[k] > 0) {
                                ent -= p[k] * Math.log(p[k]);
                            }
                            if (k > i && p[k] != 0) {
                                causal = false;
                            }
                            if (k <= i) {
                                upToI++;
                            }
                        }
                        int nKeys = causal ? upToI : keys.size();
                        if (nKeys >= 2) {
                            entSum[hh] += ent / Math.log(nKeys);
                            entN[hh]++;
                        }
                    }
                }
            }
        }
        if (sink == null) {
            return new Attention(0, new double[0], new double[0], Double.NaN);
        }
        double maxMass = Double.NaN;
        double[] entropy = new double[sink.length];
        for (int hh = 0; hh < sink.length; hh++) {
            sink[hh] /= queries;
            entropy[hh] = entN[hh] == 0 ? Double.NaN : entSum[hh] / entN[hh];
            for (int m = 0; m < massN.length; m++) {
                if (massN[m] > 0) {
                    double v = mass[hh][m] / massN[m];
                    maxMass = Double.isNaN(maxMass) ? v : Math.max(maxMass, v);
                }
            }
        }
        return new Attention(queries, sink, entropy, maxMass);
    }
}
