// Package smile is a minimal Go binding of smile's C ABI (MCLMC and SMILE, float64),
// used by the FFI tests and shown in the README. The chain's memory is
// allocated with C.malloc, so no Go pointer is ever kept by C.
package smile

/*
#cgo pkg-config: smile
#include <stdlib.h>
#include <smile.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Error is a smile status other than SMILE_OK.
type Error struct{ Code int }

func (e Error) Error() string {
	return fmt.Sprintf("smile status %d: %s", e.Code, C.GoString(C.smile_status_str(C.int(e.Code))))
}

func check(st C.smile_status) error {
	if st != C.SMILE_OK {
		return Error{int(st)}
	}
	return nil
}

// Progress values returned by Tell.
const (
	Initialized = int(C.SMILE_PROGRESS_INITIALIZED)
	NeedEval    = int(C.SMILE_PROGRESS_NEED_EVAL)
	StepDone    = int(C.SMILE_PROGRESS_STEP_DONE)
)

// StepInfo is what a finished step did.
type StepInfo struct {
	Step, GradEvals, Divergences uint64
	EnergyChange, LogDensity     float64
	Divergence                   int
}

// Chain is an MCLMC chain in C memory.
type Chain struct {
	mem  unsafe.Pointer
	h    *C.smile_mclmc_f64
	dim  int
	size C.size_t
}

// Version is the library's version string.
func Version() string { return C.GoString(C.smile_version()) }

// NewChain starts a chain at x0 with the default settings for len(x0),
// optionally changed by cfg, on random stream (seed, stream).
func NewChain(x0 []float64, seed, stream uint64, cfg func(*C.smile_mclmc_config_f64)) (*Chain, error) {
	d := C.size_t(len(x0))
	var size, align C.size_t
	if err := check(C.smile_mclmc_memory_size_f64(d, nil, &size, &align)); err != nil {
		return nil, err
	}
	var c C.smile_mclmc_config_f64
	if err := check(C.smile_mclmc_config_default_f64(&c, C.size_t(unsafe.Sizeof(c)), d)); err != nil {
		return nil, err
	}
	if cfg != nil {
		cfg(&c)
	}
	mem := C.malloc(size)
	var h *C.smile_mclmc_f64
	st := C.smile_mclmc_init_f64(mem, size, d, &c, (*C.double)(unsafe.Pointer(&x0[0])),
		C.uint64_t(seed), C.uint64_t(stream), &h)
	if err := check(st); err != nil {
		C.free(mem)
		return nil, err
	}
	return &Chain{mem: mem, h: h, dim: len(x0), size: size}, nil
}

// Free releases the chain's memory.
func (c *Chain) Free() {
	C.free(c.mem)
	c.mem, c.h = nil, nil
}

// Ask returns the point to evaluate and the slice to write the gradient
// into; both are views of C memory, valid until the next call on the chain.
func (c *Chain) Ask() (x []float64, grad []float64, err error) {
	var r C.smile_request_f64
	if err := check(C.smile_mclmc_ask_f64(c.h, &r)); err != nil {
		return nil, nil, err
	}
	x = unsafe.Slice((*float64)(unsafe.Pointer(r.x)), c.dim)
	grad = unsafe.Slice((*float64)(unsafe.Pointer(r.grad)), c.dim)
	return x, grad, nil
}

// Tell hands log p at the asked point to the chain.
func (c *Chain) Tell(logp float64) (int, StepInfo, error) {
	var p C.smile_progress
	var i C.smile_step_info_f64
	if err := check(C.smile_mclmc_tell_f64(c.h, C.double(logp), &p, &i)); err != nil {
		return 0, StepInfo{}, err
	}
	return int(p), StepInfo{uint64(i.step), uint64(i.grad_evals), uint64(i.divergences),
		float64(i.energy_change), float64(i.logdensity), int(i.divergence)}, nil
}

// Position copies the current position into out (len = dimension).
func (c *Chain) Position(out []float64) error {
	if len(out) == 0 {
		return check(C.smile_mclmc_position_f64(c.h, nil, 0))
	}
	return check(C.smile_mclmc_position_f64(c.h, (*C.double)(unsafe.Pointer(&out[0])), C.size_t(len(out))))
}

// Save returns a checkpoint of the chain.
func (c *Chain) Save() ([]byte, error) {
	buf := make([]byte, int(c.size))
	err := check(C.smile_mclmc_save_f64(c.h, unsafe.Pointer(&buf[0]), c.size))
	return buf, err
}

// Restore makes a chain from a checkpoint.
func Restore(buf []byte) (*Chain, error) {
	if len(buf) == 0 {
		return nil, check(C.smile_mclmc_restore_f64(nil, 0, nil, 0, nil))
	}
	mem := C.malloc(C.size_t(len(buf)))
	var h *C.smile_mclmc_f64
	st := C.smile_mclmc_restore_f64(mem, C.size_t(len(buf)), unsafe.Pointer(&buf[0]), C.size_t(len(buf)), &h)
	if err := check(st); err != nil {
		C.free(mem)
		return nil, err
	}
	var d C.size_t
	C.smile_mclmc_dim_f64(h, &d)
	return &Chain{mem: mem, h: h, dim: int(d), size: C.size_t(len(buf))}, nil
}

// SetStepSize changes the step size (between steps).
func (c *Chain) SetStepSize(eps float64) error {
	var cfg C.smile_mclmc_config_f64
	if err := check(C.smile_mclmc_get_config_f64(c.h, &cfg, C.size_t(unsafe.Sizeof(cfg)))); err != nil {
		return err
	}
	cfg.step_size = C.double(eps)
	return check(C.smile_mclmc_set_config_f64(c.h, &cfg))
}

// Codes of the statuses the tests expect.
const (
	ErrNullPointer       = int(C.SMILE_ERR_NULL_POINTER)
	ErrDimensionTooSmall = int(C.SMILE_ERR_DIMENSION_TOO_SMALL)
	ErrBufferLength      = int(C.SMILE_ERR_BUFFER_LENGTH)
	ErrInvalidStepSize   = int(C.SMILE_ERR_INVALID_STEP_SIZE)
	ErrOutOfOrder        = int(C.SMILE_ERR_OUT_OF_ORDER)
	ErrNotAnInstance     = int(C.SMILE_ERR_NOT_AN_INSTANCE)
)

// SmileStepInfo is what a finished SMILE step did.
type SmileStepInfo struct {
	Step, Divergences, Resets uint64
	StepSize, AbsEnergyChange float64
	EnergyMean, EnergyStd     float64
	Reset                     bool
}

// Smile is a SMILE chain (stochastic-gradient MCLMC) in C memory.
type Smile struct {
	mem unsafe.Pointer
	h   *C.smile_smile_f64
	dim int
}

// Presets of NewSmile.
const (
	PresetSmile  = int(C.SMILE_SMILE_PRESET_SMILE)
	PresetNaive  = int(C.SMILE_SMILE_PRESET_NAIVE)
	PresetPsmile = int(C.SMILE_SMILE_PRESET_PSMILE)
)

// NewSmile starts a SMILE chain at x0 with a preset and initial step size.
func NewSmile(x0 []float64, preset int, stepSize float64, seed, stream uint64) (*Smile, error) {
	var c C.smile_smile_config_f64
	if err := check(C.smile_smile_config_default_f64(&c, C.size_t(unsafe.Sizeof(c)), C.uint32_t(preset), C.double(stepSize))); err != nil {
		return nil, err
	}
	d := C.size_t(len(x0))
	var size, align C.size_t
	if err := check(C.smile_smile_memory_size_f64(d, &c, &size, &align)); err != nil {
		return nil, err
	}
	var x0p *C.double
	if len(x0) > 0 {
		x0p = (*C.double)(unsafe.Pointer(&x0[0]))
	}
	mem := C.malloc(size)
	var h *C.smile_smile_f64
	if err := check(C.smile_smile_init_f64(mem, size, d, &c, x0p, C.uint64_t(seed), C.uint64_t(stream), &h)); err != nil {
		C.free(mem)
		return nil, err
	}
	return &Smile{mem: mem, h: h, dim: len(x0)}, nil
}

// Free releases the chain's memory.
func (s *Smile) Free() {
	C.free(s.mem)
	s.mem, s.h = nil, nil
}

// Ask returns the point, the gradient slice (views of C memory) and the
// step index: evaluate every request of one step on the same mini-batch.
func (s *Smile) Ask() (x, grad []float64, step uint64, err error) {
	var r C.smile_request_f64
	if err := check(C.smile_smile_ask_f64(s.h, &r)); err != nil {
		return nil, nil, 0, err
	}
	x = unsafe.Slice((*float64)(unsafe.Pointer(r.x)), s.dim)
	grad = unsafe.Slice((*float64)(unsafe.Pointer(r.grad)), s.dim)
	return x, grad, uint64(r.step), nil
}

// Tell hands the mini-batch log density at the asked point to the chain.
func (s *Smile) Tell(logp float64) (int, SmileStepInfo, error) {
	var p C.smile_progress
	var i C.smile_smile_step_info_f64
	if err := check(C.smile_smile_tell_f64(s.h, C.double(logp), &p, &i)); err != nil {
		return 0, SmileStepInfo{}, err
	}
	return int(p), SmileStepInfo{uint64(i.step), uint64(i.divergences), uint64(i.resets), float64(i.step_size),
		float64(i.abs_energy_change), float64(i.energy_mean), float64(i.energy_std), i.reset != 0}, nil
}

// Position copies the current position into out (len = dimension).
func (s *Smile) Position(out []float64) error {
	if len(out) == 0 {
		return check(C.smile_smile_position_f64(s.h, nil, 0))
	}
	return check(C.smile_smile_position_f64(s.h, (*C.double)(unsafe.Pointer(&out[0])), C.size_t(len(out))))
}
