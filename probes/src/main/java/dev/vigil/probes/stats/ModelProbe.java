package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One model's probe statistics: the selected sites, their window accumulators (SPEC §4–§5) and their snapshot.
 * {@link #observe} is called by one probe worker thread; {@link #summarize}, {@link #snapshot} and
 * {@link #openWindowTokens} may be called from any thread.
 *
 * <p>Snapshots are built when asked for, not per request: the open window's gauges at most once per observed
 * request (cached until the next), a closed window's gauges once when it closes. A snapshot waits for an
 * {@code observe} in progress to finish.
 */
public final class ModelProbe {
    private final List<ProbeSite> sites;
    private final ProbeSettings settings;
    private final List<SiteStats> stats = new ArrayList<>();
    private final List<QuantRangeStat> quants;
    private final Window window;
    /** The last closed window's gauges, per site; null until a window closes. */
    private List<SiteSnapshot> closedSites;
    private WindowInfo closedWindow;
    private long probedRequests;
    private long probedTokens;
    /** Guards the accumulators between the worker's {@link #observe} and a {@link #snapshot} from another thread. */
    private final Object lock = new Object();
    /** The snapshot as of the latest observed request; null when a request came in since it was built. */
    private ProbeSnapshot cached;
    private volatile long openTokens;
    private volatile long closedWindows;

    /** Statistics for the sites that {@code settings} selects (include/exclude) among {@code sites}. */
    public ModelProbe(List<ProbeSite> sites, ProbeSettings settings) {
        this.settings = settings;
        this.sites = settings.select(sites);
        Map<String, QuantRangeStat> quantByTensor = new LinkedHashMap<>();
        for (ProbeSite site : this.sites) {
            stats.add(new SiteStats(site, settings, quantByTensor));
        }
        quants = List.copyOf(quantByTensor.values());
        window = new Window(settings.windowTokens());
    }

    /** The probed sites, in discovery order. */
    public List<ProbeSite> sites() {
        return sites;
    }

    /**
     * Adds a request to the open window, closing the window when it reaches {@code window_tokens} unmasked tokens.
     * Sites whose tensor the batch lacks are left as they are. Every tensor's layout is checked before any statistic
     * changes, so a bad request (IllegalArgumentException) leaves the statistics untouched. One thread only.
     */
    public void observe(ProbedBatch batch) {
        TensorLayout[] layouts = layouts(batch);
        long tokens = batch.unmaskedTokens();
        synchronized (lock) {
            update(batch, layouts, stats, quants);
            finishRequest(tokens);
        }
    }

    /**
     * {@link #observe} for a request whose statistics were reduced inside the graph
     * ({@code dev.vigil.probes.reduce.ReductionGraph}): the small per-request vectors are merged into the same window
     * accumulators, so that requests of either kind share one window. Sites whose outputs the batch lacks are left
     * as they are; every site's outputs are checked before any statistic changes. One thread only.
     */
    public void observeReduced(ReducedBatch batch) {
        ReducedSite[] reduced = new ReducedSite[stats.size()];
        for (int i = 0; i < stats.size(); i++) {
            reduced[i] = stats.get(i).reduced(batch);
        }
        long tokens = batch.unmaskedTokens();
        synchronized (lock) {
            List<QuantRangeStat> pending = new ArrayList<>(quants);
            for (int i = 0; i < stats.size(); i++) {
                if (reduced[i] == null) {
                    continue;
                }
                SiteStats s = stats.get(i);
                s.observeReduced(reduced[i], batch);
                if (s.quant != null && pending.remove(s.quant)) {
                    s.quant.observeReduced((ReducedRows) reduced[i]);
                }
            }
            finishRequest(tokens);
        }
    }

    /** Counts a request and closes the window when it reached its size; under the lock. */
    private void finishRequest(long tokens) {
        probedRequests++;
        probedTokens += tokens;
        if (window.add(tokens)) {
            closedWindow = window.info(true);
            List<SiteSnapshot> gauges = new ArrayList<>(stats.size());
            for (SiteStats s : stats) {
                gauges.add(s.gauges());
                s.resetWindow();
            }
            for (QuantRangeStat q : quants) {
                q.closeWindow();
            }
            closedSites = gauges;
            closedWindows++;
            window.open();
        }
        cached = null;
        openTokens = window.tokens();
    }

    /**
     * This request's own statistics, computed over it alone in fresh accumulators; the window is not touched.
     * Thread-safe. IllegalArgumentException when a tensor does not fit its site.
     */
    public RequestSummary summarize(ProbedBatch batch) {
        TensorLayout[] layouts = layouts(batch);
        Map<String, QuantRangeStat> quantByTensor = new LinkedHashMap<>();
        List<SiteStats> fresh = new ArrayList<>(sites.size());
        for (ProbeSite site : sites) {
            fresh.add(new SiteStats(site, settings, quantByTensor));
        }
        update(batch, layouts, fresh, List.copyOf(quantByTensor.values()));
        List<SiteSnapshot> out = new ArrayList<>(fresh.size());
        for (int i = 0; i < fresh.size(); i++) {
            if (layouts[i] != null) {
                out.add(fresh.get(i).gauges());
            }
        }
        return new RequestSummary(batch.unmaskedTokens(), out);
    }

    /** The last closed window's gauges (the open window's until one closes) and the cumulative counters. */
    public ProbeSnapshot snapshot() {
        synchronized (lock) {
            if (cached == null) {
                cached = build();
            }
            return cached;
        }
    }

    /** Windows closed since start (the last closed one has index {@code closedWindows() − 1}); any thread. */
    public long closedWindows() {
        return closedWindows;
    }

    /** Unmasked tokens in the current open window. */
    public long openWindowTokens() {
        return openTokens;
    }

    private TensorLayout[] layouts(ProbedBatch batch) {
        TensorLayout[] layouts = new TensorLayout[stats.size()];
        for (int i = 0; i < stats.size(); i++) {
            SiteStats s = stats.get(i);
            TapTensor t = batch.tensors().get(s.site.tensor());
            layouts[i] = t == null ? null : s.layout(t, batch);
        }
        return layouts;
    }

    private static void update(ProbedBatch batch, TensorLayout[] layouts, List<SiteStats> siteStats,
                               List<QuantRangeStat> quantStats) {
        List<QuantRangeStat> pending = new ArrayList<>(quantStats);
        for (int i = 0; i < siteStats.size(); i++) {
            if (layouts[i] == null) {
                continue;
            }
            SiteStats s = siteStats.get(i);
            TapTensor t = batch.tensors().get(s.site.tensor());
            s.observe(t, layouts[i], batch);
            if (s.quant != null && pending.remove(s.quant)) {
                s.quant.observe(t, (RowLayout) layouts[i]);
            }
        }
    }

    private ProbeSnapshot build() {
        List<SiteSnapshot> sitesOut = new ArrayList<>(stats.size());
        WindowInfo info;
        if (closedSites == null) {
            info = window.info(false);
            for (SiteStats s : stats) {
                sitesOut.add(s.snapshot());
            }
        } else {
            info = closedWindow;
            for (int i = 0; i < stats.size(); i++) {
                sitesOut.add(stats.get(i).withCounters(closedSites.get(i)));
            }
        }
        return new ProbeSnapshot(info, window.tokens(), probedRequests, probedTokens, sitesOut);
    }
}
