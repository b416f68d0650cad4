package io.ssmspark.data.synthetic;

/** One generated document, with {@code -log p(tokens)} under its generator, in nats. */
public final class SyntheticDocument {
  public final String id;
  public final int[] tokens;
  public final double negLogProb;

  public SyntheticDocument(String id, int[] tokens, double negLogProb) {
    this.id = id;
    this.tokens = tokens;
    this.negLogProb = negLogProb;
  }
}
