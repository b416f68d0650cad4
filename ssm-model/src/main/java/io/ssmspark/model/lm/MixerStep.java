package io.ssmspark.model.lm;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import io.ssmspark.model.layers.Activations;
import io.ssmspark.model.layers.Linear;
import io.ssmspark.model.ssd.SsdStep;
import io.ssmspark.model.tensor.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The {@link Mamba2Mixer} on ONE token per sequence, for recurrent decoding: O(1) work per token.
 *
 * <pre>
 *   [z | xBC | dt] = x · in_projᵀ
 *   conv  = bias + Σ_k w[:, k] · window[k]          window = the K−1 carried pre-conv rows, then xBC
 *   [x | B | C] = silu(conv);  dt = softplus(dt + dt_bias);  A = −exp(A_log)
 *   y     = SsdStep(x, dt, A, B, C, D, S)             S updated in place
 *   out   = gate(y, z) · out_projᵀ
 * </pre>
 *
 * The carried rows [batch, K−1, convDim] and the SSM state [batch, H, P, N] are updated in place.
 */
final class MixerStep {

    private MixerStep() {
    }

    /** x [batch, d] → out [batch, d]; advances {@code convRows} and {@code ssmState} by one token. */
    static INDArray step(INDArray x, Mamba2Mixer.Weights w, Mamba2Mixer.Spec s, INDArray convRows,
            INDArray ssmState) {
        long b = x.size(0);
        int di = s.dInner();
        int cd = s.convDim();
        int gn = s.groups() * s.dState();
        int k = s.convKernel();
        INDArray projected = Linear.forward(x, w.inProj(), null);
        INDArray z = projected.get(all(), interval(0, di)).dup('c');
        INDArray xbc = projected.get(all(), interval(di, di + cd)).dup('c');
        INDArray dtPre = projected.get(all(), interval(di + cd, di + cd + s.heads())).dup('c').addiRowVector(w.dtBias());

        // causal depthwise conv over the last K inputs: window [b, K, C] times the taps laid out [K, C]
        INDArray window = Nd4j.concat(1, convRows, xbc.reshape(b, 1, cd));
        INDArray taps = w.convWeight().transpose().dup('c').reshape(1, k, cd);
        INDArray products = Nd4j.createUninitialized(x.dataType(), b, k, cd);
        Ops.mul(window, taps, products);
        INDArray conv = products.sum(1).addiRowVector(w.convBias());
        convRows.assign(window.get(all(), interval(1, k), all()));

        INDArray act = Activations.silu(conv);
        INDArray xh = act.get(all(), interval(0, di)).dup('c').reshape(b, s.heads(), s.headDim());
        INDArray bm = act.get(all(), interval(di, di + gn)).dup('c').reshape(b, s.groups(), s.dState());
        INDArray cm = act.get(all(), interval(di + gn, cd)).dup('c').reshape(b, s.groups(), s.dState());
        INDArray a = Transforms.exp(w.aLog(), true).negi();
        INDArray y = SsdStep.step(xh, Activations.softplus(dtPre), a, bm, cm, w.d(), ssmState).reshape(b, di);
        return Linear.forward(Mamba2Mixer.gate(y, z, w.normWeight(), s), w.outProj(), null);
    }
}
