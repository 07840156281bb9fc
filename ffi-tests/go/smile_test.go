package smile

import (
	"errors"
	"math"
	"math/rand"
	"testing"
)

// gauss writes the gradient of log N(0, I) at x into grad and returns log p.
func gauss(x, grad []float64) float64 {
	s := 0.0
	for i, v := range x {
		grad[i] = -v
		s += v * v
	}
	return -0.5 * s
}

// step runs one step by ask/tell.
func step(t *testing.T, c *Chain) StepInfo {
	for {
		x, g, err := c.Ask()
		if err != nil {
			t.Fatal(err)
		}
		p, info, err := c.Tell(gauss(x, g))
		if err != nil {
			t.Fatal(err)
		}
		if p == StepDone {
			return info
		}
	}
}

func code(err error) int {
	var e Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestVersion(t *testing.T) {
	if Version() == "" {
		t.Fatal("empty version")
	}
}

// A 5-d standard Gaussian sampled from Go: moments near 0 and 1.
func TestAskTellGaussian(t *testing.T) {
	const d, n = 5, 20000
	c, err := NewChain([]float64{1, 1, 1, 1, 1}, 42, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Free()
	x := make([]float64, d)
	var sum, sum2 [d]float64
	var info StepInfo
	for k := 0; k < n; k++ {
		info = step(t, c)
		if err := c.Position(x); err != nil {
			t.Fatal(err)
		}
		for i, v := range x {
			sum[i] += v
			sum2[i] += v * v
		}
	}
	if info.Step != n || info.Divergences != 0 {
		t.Fatalf("step %d, divergences %d", info.Step, info.Divergences)
	}
	for i := 0; i < d; i++ {
		m := sum[i] / n
		v := sum2[i]/n - m*m
		if math.Abs(m) > 0.1 || math.Abs(v-1) > 0.15 {
			t.Errorf("coordinate %d: mean %.3f variance %.3f", i, m, v)
		}
	}
}

// A checkpoint saved into Go memory resumes bit for bit.
func TestCheckpoint(t *testing.T) {
	c, err := NewChain([]float64{0.5, -0.5, 2}, 7, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Free()
	for k := 0; k < 50; k++ {
		step(t, c)
	}
	buf, err := c.Save()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(buf)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Free()
	a, b := make([]float64, 3), make([]float64, 3)
	for k := 0; k < 50; k++ {
		step(t, c)
		step(t, r)
		c.Position(a)
		r.Position(b)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("step %d: %v != %v", k, a, b)
			}
		}
	}
	buf[0] ^= 0xff
	if _, err := Restore(buf); code(err) != ErrNotAnInstance {
		t.Fatalf("corrupt checkpoint: %v", err)
	}
}

// Misuse from Go returns the documented codes.
func TestBadInput(t *testing.T) {
	if _, err := NewChain([]float64{1}, 1, 0, nil); code(err) != ErrDimensionTooSmall {
		t.Errorf("d = 1: %v", err)
	}
	c, err := NewChain([]float64{1, 2}, 1, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Free()
	if err := c.Position(make([]float64, 3)); code(err) != ErrBufferLength {
		t.Errorf("short buffer: %v", err)
	}
	if err := c.Position(nil); code(err) != ErrNullPointer {
		t.Errorf("nil buffer: %v", err)
	}
	if err := c.SetStepSize(math.NaN()); code(err) != ErrInvalidStepSize {
		t.Errorf("NaN step size: %v", err)
	}
	x, g, _ := c.Ask()
	if p, _, err := c.Tell(gauss(x, g)); err != nil || p != Initialized {
		t.Fatalf("initial tell: %v %d", err, p)
	}
	if _, _, err := c.Tell(0); code(err) != ErrOutOfOrder {
		t.Errorf("tell without ask: %v", err)
	}
	if _, err := Restore(nil); code(err) != ErrNullPointer {
		t.Errorf("restore nil: %v", err)
	}
}

// SMILE driven by ask/tell from Go on mini-batches: y_ij ~ N(theta_j, 1),
// N = 200, prior N(0, 1), batches of 50 drawn per step; the draws match the
// exact posterior N(sum y / 201, 1/201).
func TestSmileMiniBatch(t *testing.T) {
	const n, b, d, steps = 200, 50, 2, 20000
	rng := rand.New(rand.NewSource(1))
	var y [n][d]float64
	var post [d]float64
	for i := range y {
		for j := range y[i] {
			y[i][j] = float64(j) + rng.NormFloat64()
			post[j] += y[i][j] / (n + 1)
		}
	}
	if _, err := NewSmile([]float64{1}, PresetSmile, 0.01, 1, 0); code(err) != ErrDimensionTooSmall {
		t.Fatalf("d = 1: %v", err)
	}
	if _, err := NewSmile([]float64{1, 1}, PresetSmile, math.NaN(), 1, 0); code(err) != ErrInvalidStepSize {
		t.Fatalf("NaN step size: %v", err)
	}
	s, err := NewSmile([]float64{0, 0}, PresetSmile, 0.01, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Free()
	if _, _, err := s.Tell(0); code(err) != ErrOutOfOrder {
		t.Fatalf("tell before ask: %v", err)
	}
	batch := make([]int, b)
	var batchStep uint64
	var sum, sum2 [d]float64
	var info SmileStepInfo
	x := make([]float64, d)
	for k := 0; k < steps+steps/10; k++ {
		for {
			xs, g, step, err := s.Ask()
			if err != nil {
				t.Fatal(err)
			}
			if step != batchStep { // a new mini-batch per step
				for i := range batch {
					batch[i] = rng.Intn(n)
				}
				batchStep = step
			}
			lp := 0.0
			for j := 0; j < d; j++ {
				g[j] = -xs[j]
				lp -= 0.5 * xs[j] * xs[j]
				for _, i := range batch {
					r := y[i][j] - xs[j]
					g[j] += float64(n) / b * r
					lp -= float64(n) / b * 0.5 * r * r
				}
			}
			p, i, err := s.Tell(lp)
			if err != nil {
				t.Fatal(err)
			}
			if p == StepDone {
				info = i
				break
			}
		}
		if k < steps/10 {
			continue
		}
		if err := s.Position(x); err != nil {
			t.Fatal(err)
		}
		for j, v := range x {
			sum[j] += v
			sum2[j] += v * v
		}
	}
	sd := 1 / math.Sqrt(n+1)
	for j := 0; j < d; j++ {
		m := sum[j] / steps
		v := sum2[j]/steps - m*m
		if math.Abs(m-post[j]) > 0.2*sd || math.Abs(math.Log(math.Sqrt(v)/sd)) > 0.2 {
			t.Errorf("coordinate %d: mean %.4f (exact %.4f), sd %.4f (exact %.4f)", j, m, post[j], math.Sqrt(v), sd)
		}
	}
	if info.Step != steps+steps/10 || info.StepSize <= 0 || info.EnergyMean <= 0 || info.Divergences != info.Resets {
		t.Errorf("info %+v", info)
	}
	t.Logf("SMILE from Go: %d steps, %d resets, final step size %.4f", info.Step, info.Resets, info.StepSize)
}
