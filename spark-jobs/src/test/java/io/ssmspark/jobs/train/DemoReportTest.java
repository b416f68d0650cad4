package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The demo's closing sentence places the loss against the unigram baseline in words, either side of it. */
class DemoReportTest {
    @Test
    void aLossAboveTheBaselineIsSaidToBeAbove() {
        assertEquals("0.20 above", DemoReport.relation(3.6629, 3.4638));
        assertEquals("1.10 below", DemoReport.relation(2.3638, 3.4638));
        assertEquals("0.00 below", DemoReport.relation(1.0, 1.0));
    }
}
