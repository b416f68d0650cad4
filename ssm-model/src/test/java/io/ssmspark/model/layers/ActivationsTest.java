package io.ssmspark.model.layers;

import static io.ssmspark.model.layers.TestArrays.assertClose;
import static io.ssmspark.model.layers.TestArrays.assertValues;
import static io.ssmspark.model.layers.TestArrays.of;
import static io.ssmspark.model.layers.TestArrays.randn;
import static io.ssmspark.model.layers.TestArrays.toFloat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class ActivationsTest {

    private static final double[] V = {-30, -1, 0, 1, 19.5, 20, 20.5, 100};

    @Test
    void softplusFollowsTorchIncludingTheThreshold() {
        double[] expected = {
            9.357622968839737e-14,
            0.31326168751822286,
            0.6931471805599453,
            1.3132616875182228,
            19.500000003398267,
            20.000000002061153,
            20.5,
            100
        };
        assertValues(expected, Activations.softplus(of(V, V.length)), 1e-15 * 100, "softplus");
        INDArray sp = Activations.softplus(of(V, V.length));
        assertEquals(20.5, sp.getDouble(6), 0.0, "above 20 softplus returns v exactly");
        assertEquals(20.000000002061153, sp.getDouble(5), 1e-13, "at 20 softplus is still log1p(exp(v))");
        double[] grad = {
            9.357622968839299e-14,
            0.2689414213699951,
            0.5,
            0.7310585786300049,
            0.9999999966017321,
            0.9999999979388463,
            1.0,
            1.0
        };
        assertValues(grad, Activations.softplusGrad(of(V, V.length)), 1e-15, "softplus'");
        assertValues(new double[] {1000}, Activations.softplus(of(new double[] {1000}, 1)), 0, "no overflow");
    }

    @Test
    void siluMatchesHandValues() {
        double[] expected = {
            -2.8072868906517896e-12,
            -0.2689414213699951,
            0,
            0.7310585786300049,
            19.499999933733775,
            19.999999958776925,
            20.499999974371867,
            100
        };
        assertValues(expected, Activations.silu(of(V, V.length)), 1e-13, "silu");
    }

    @Test
    void derivativesMatchCentralDifferences() {
        checkDerivative(Activations::silu, Activations::siluGrad);
        checkDerivative(
                v -> Activations.siluWithGrad(v).value(),
                v -> Activations.siluWithGrad(v).grad());
        checkDerivative(Activations::softplus, Activations::softplusGrad);
    }

    private static void checkDerivative(UnaryOperator<INDArray> f, UnaryOperator<INDArray> df) {
        double[] points = {-25, -8, -1.5, -0.3, 0, 0.4, 2, 7, 19.9, 21, 40};
        double h = 1e-6;
        INDArray x = of(points, points.length);
        INDArray numeric = f.apply(x.add(h)).subi(f.apply(x.sub(h))).divi(2 * h);
        assertClose(numeric, df.apply(x), 1e-8, "derivative");
    }

    @Test
    void floatAgreesWithDouble() {
        INDArray x = randn(new Random(5), 4.0, 200);
        assertClose(Activations.silu(x), Activations.silu(toFloat(x)), 1e-6, "silu fp32");
        assertClose(Activations.siluGrad(x), Activations.siluGrad(toFloat(x)), 1e-6, "silu' fp32");
        assertClose(Activations.siluGrad(x), Activations.siluWithGrad(x).grad(), 1e-15, "silu' from one sigmoid");
        assertClose(Activations.silu(x), Activations.siluWithGrad(x).value(), 0, "silu from one sigmoid");
        assertClose(Activations.softplus(x), Activations.softplus(toFloat(x)), 1e-6, "softplus fp32");
        assertClose(Activations.softplusGrad(x), Activations.softplusGrad(toFloat(x)), 1e-6, "softplus' fp32");
    }
}
