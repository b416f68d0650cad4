package io.ssmspark.model.config;

/**
 * The number of parameters of a config, counted from its sizes alone: nothing is allocated and no per-tensor list
 * is built, so an absurd config (d_model 10^9, a million layers) is counted at once. It counts exactly the tensors of
 * {@link io.ssmspark.model.checkpoint.CheckpointSchema#of} (a test holds the two equal), in long arithmetic that
 * stops at {@link Long#MAX_VALUE} instead of overflowing.
 */
public final class ModelSize {
    private ModelSize() {
    }

    /** Parameters of the model, at most {@link Long#MAX_VALUE}. */
    public static long parameters(MambaConfig c) {
        long d = c.dModel();
        long vocab = c.paddedVocabSize();
        long norm = c.rmsNorm() ? d : 2 * d; // LayerNorm also has a bias
        long attentionLayers = c.attnLayerIdx().size();
        long mambaLayers = c.nLayer() - attentionLayers;
        long total = mul(vocab, d); // embedding
        total = add(total, mul(c.nLayer(), add(norm, mlp(c, d, norm))));
        total = add(total, mul(mambaLayers, c.ssm().isMamba1() ? mamba1(c, d) : mamba2(c, d)));
        if (attentionLayers > 0) {
            total = add(total, mul(attentionLayers, attention(c, d)));
        }
        total = add(total, norm); // norm_f
        return c.tieEmbeddings() ? total : add(total, mul(vocab, d));
    }

    /** One Mamba2 mixer: in_proj, conv1d weight and bias, dt_bias, A_log, D, the gated norm, out_proj. */
    private static long mamba2(MambaConfig c, long d) {
        SsmConfig ssm = c.ssm();
        long inner = (long) ssm.expand() * d;
        long heads = inner / ssm.headdim();
        long bc = 2L * ssm.ngroups() * ssm.dState();
        long conv = inner + bc;
        long inProj = 2 * inner + bc + heads;
        long n = mul(inProj, d);
        n = add(n, mul(conv, ssm.dConv() + 1L)); // weight (conv, 1, d_conv) and bias
        n = add(n, 2 * heads); // dt_bias, A_log
        n = add(n, ssm.dHasHdim() ? inner : heads);
        if (ssm.rmsnorm()) {
            n = add(n, inner);
        }
        return add(n, mul(d, inner));
    }

    /**
     * One Mamba1 mixer: in_proj (x, z) and its bias when bias, conv1d weight and its bias when conv_bias, x_proj
     * (dt_rank + 2·d_state rows), dt_proj weight and bias, A_log (d_inner × d_state), D, out_proj and its bias when
     * bias.
     */
    private static long mamba1(MambaConfig c, long d) {
        SsmConfig ssm = c.ssm();
        long inner = (long) ssm.expand() * d;
        long rank = c.dtRank();
        long n = mul(2 * inner, d);
        n = add(n, mul(inner, ssm.dConv())); // conv1d weight (inner, 1, d_conv)
        n = add(n, mul(rank + 2L * ssm.dState(), inner)); // x_proj
        n = add(n, add(mul(inner, rank), inner)); // dt_proj weight and bias
        n = add(n, add(mul(inner, ssm.dState()), inner)); // A_log, D
        n = add(n, mul(d, inner)); // out_proj
        if (ssm.convBias()) {
            n = add(n, inner);
        }
        return ssm.bias() ? add(n, 2 * inner + d) : n;
    }

    /** One MHA mixer: in_proj (q, k, v) with its optional bias, out_proj with its optional bias. */
    private static long attention(MambaConfig c, long d) {
        long headDim = c.attnHeadDim();
        long qkv = mul(headDim, c.attnNumHeads() + 2L * c.attnNumHeadsKv());
        long n = mul(qkv, d);
        if (c.attn().qkvProjBias()) {
            n = add(n, qkv);
        }
        n = add(n, mul(d, mul(headDim, c.attnNumHeads())));
        return c.attn().outProjBias() ? add(n, d) : n;
    }

    /** norm2, fc1 (2 · hidden × d) and fc2 (d × hidden) of a layer's GatedMLP; 0 without one. */
    private static long mlp(MambaConfig c, long d, long norm) {
        if (!c.hasMlp()) {
            return 0;
        }
        long hidden = (c.dIntermediate() + MambaConfig.MLP_MULTIPLE_OF - 1L) / MambaConfig.MLP_MULTIPLE_OF
                * MambaConfig.MLP_MULTIPLE_OF;
        return add(norm, mul(3 * hidden, d));
    }

    private static long mul(long a, long b) {
        long p = a * b;
        long high = Math.multiplyHigh(a, b);
        return high != 0 || p < 0 ? Long.MAX_VALUE : p; // a, b >= 0
    }

    private static long add(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s; // a, b >= 0
    }
}
