package dev.vigil.probes;

/**
 * One pattern found in the graph: the tensor it defines as a site, the index of the node that orders it (SPEC §3's
 * layer rule) and the pattern's name.
 */
record PatternMatch(String tensor, int node, String pattern) {
}
