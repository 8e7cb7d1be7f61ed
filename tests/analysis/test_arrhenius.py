from __future__ import annotations

import math

import numpy as np
import pytest

from ionflow.analysis.arrhenius import arrhenius_fit_arrays, fit_arrhenius
from ionflow.analysis.conductivity import BOLTZMANN_EV_K, conductivity_from_diffusivity
from ionflow.errors import InputError
from ionflow.schemas.transport import DiffusionResult

KB = BOLTZMANN_EV_K


def _result(temperature, d, sd, diffusing=True, specie="Li", n_mobile=24, volume=400.0):
    """A minimal DiffusionResult carrying D ± σ at one temperature."""
    return DiffusionResult(
        specie=specie,
        charge=1.0,
        temperature_K=temperature,
        n_frames=100,
        n_atoms=40,
        n_mobile=n_mobile,
        time_step_fs=2.0,
        duration_ps=0.198,
        volume_A3=volume,
        drift="framework",
        diffusivity_cm2_s=d,
        diffusivity_std_cm2_s=sd,
        diffusivity_components_cm2_s=[d, d, d],
        diffusion_tensor_cm2_s=np.eye(3).tolist(),
        diffusivity_principal_cm2_s=[d, d, d],
        principal_axes=np.eye(3).tolist(),
        dimensionality=3 if diffusing else 0,
        diffusing=diffusing,
        n_effective_hops=10.0,
        hop_length_A=2.8,
        conductivity_mS_cm=1.0,
        fit_start_ps=0.05,
        fit_end_ps=0.1,
        n_samples=24,
        msd_time_ps=[0.0, 0.1],
        msd_A2=[0.0, 1.0],
        msd_std_A2=[0.0, 0.1],
    )


def test_exact_arrhenius_data_is_recovered():
    ea, d0 = 0.35, 2e-3
    temps = [600.0, 800.0, 1000.0, 1200.0]
    results = [
        _result(t, d0 * math.exp(-ea / (KB * t)), 0.05 * d0 * math.exp(-ea / (KB * t)))
        for t in temps
    ]
    fit = fit_arrhenius(results, target_temperature_K=300.0)
    assert fit.activation_energy_eV == pytest.approx(ea, rel=1e-10)
    assert fit.prefactor_cm2_s == pytest.approx(d0, rel=1e-9)
    d300 = d0 * math.exp(-ea / (KB * 300.0))
    assert fit.diffusivity_at_target_cm2_s == pytest.approx(d300, rel=1e-9)
    # σ(300 K) by hand: n e² D / (k_B T)
    n_m3 = 24 / 400e-30
    sigma = n_m3 * 1.602176634e-19**2 * d300 * 1e-4 / (1.380649e-23 * 300.0) * 10.0
    assert fit.conductivity_at_target_mS_cm == pytest.approx(sigma, rel=1e-9)
    lo, hi = fit.conductivity_at_target_ci_mS_cm
    assert lo < sigma < hi
    assert fit.reduced_chi2 == pytest.approx(0.0, abs=1e-12)
    assert any("extrapolating" in w for w in fit.warnings)


def test_weighted_fit_matches_numpy_polyfit():
    rng = np.random.default_rng(3)
    temps = np.array([500.0, 700.0, 900.0, 1100.0, 1300.0])
    sig = rng.uniform(0.05, 0.4, temps.size)
    ln_d = -0.3 / (KB * temps) - 6.0 + rng.normal(0, sig)
    params, cov, chi2 = arrhenius_fit_arrays(temps, ln_d, sig)
    x = -1.0 / (KB * temps)
    coef, pcov = np.polyfit(x, ln_d, 1, w=1 / sig, cov="unscaled")
    assert params[1] == pytest.approx(coef[0], rel=1e-9)
    assert params[0] == pytest.approx(coef[1], rel=1e-9)
    scale = max(1.0, chi2)
    assert math.sqrt(cov[1, 1]) == pytest.approx(math.sqrt(pcov[0, 0] * scale), rel=1e-8)


def test_ea_uncertainty_and_ci_are_calibrated():
    """Noisy ln D with the stated σ: Ea ± σ and the 95 % CI at 300 K cover as claimed."""
    rng = np.random.default_rng(11)
    ea, d0 = 0.3, 1e-3
    temps = np.array([600.0, 800.0, 1000.0, 1200.0, 1400.0])
    inside_ea, inside_ci, trials = 0, 0, 400
    d300 = d0 * math.exp(-ea / (KB * 300.0))
    for _ in range(trials):
        rel = 0.15
        d = d0 * np.exp(-ea / (KB * temps) + rng.normal(0, rel, temps.size))
        fit = fit_arrhenius([_result(t, di, rel * di) for t, di in zip(temps, d, strict=True)])
        inside_ea += abs(fit.activation_energy_eV - ea) < fit.activation_energy_std_eV
        lo, hi = fit.diffusivity_at_target_ci_cm2_s
        inside_ci += lo < d300 < hi
    # χ² inflation makes the intervals slightly conservative, never too narrow
    assert 0.62 < inside_ea / trials < 0.85
    assert 0.92 < inside_ci / trials <= 1.0


def test_too_few_diffusing_temperatures_do_not_raise():
    fit = fit_arrhenius([_result(800.0, 1e-6, 1e-7), _result(600.0, 1e-9, 1e-8, diffusing=False)])
    assert fit.activation_energy_eV is None
    assert fit.conductivity_at_target_mS_cm is None
    assert fit.excluded_temperatures_K == [600.0]
    assert any("at least 2" in w for w in fit.warnings)
    assert fit_arrhenius([]).activation_energy_eV is None


def test_curvature_and_bad_input():
    temps = [400.0, 600.0, 800.0, 1000.0, 1200.0, 1500.0]
    # Vogel–Fulcher-like curvature: ln D = -B/(T - T0)
    ds = [1e-3 * math.exp(-1500.0 / (t - 250.0)) for t in temps]
    fit = fit_arrhenius([_result(t, d, 0.02 * d) for t, d in zip(temps, ds, strict=True)])
    assert any("curved" in w for w in fit.warnings)
    with pytest.raises(InputError, match="mix"):
        fit_arrhenius([_result(800.0, 1e-6, 1e-7), _result(900.0, 1e-6, 1e-7, specie="Na")])
    with pytest.raises(InputError, match="target"):
        fit_arrhenius([_result(800.0, 1e-6, 1e-7)], target_temperature_K=0.0)


def test_conductivity_conversion_matches_pymatgen():
    pad = pytest.importorskip("pymatgen.analysis.diffusion.analyzer")
    from pymatgen.core import Lattice, Structure

    s = Structure(
        Lattice.cubic(7.37), ["Li"] * 3 + ["O", "Cl"], np.random.default_rng(0).uniform(size=(5, 3))
    )
    factor = pad.get_conversion_factor(s, "Li", 900.0)
    ours = conductivity_from_diffusivity(1.0, 3 / s.volume, 900.0, 1.0)
    assert ours == pytest.approx(factor, rel=1e-9)


def test_an_ea_at_or_below_zero_is_kept_raw_and_not_a_result():
    # the CHGNet li3ocl --quick vacancy cell, 5 ps per temperature (2026-12-03): a few hops
    # each, D falls from 1200 to 1350 K; the fit slopes the wrong way
    runs = [_result(1200.0, 8.53e-6, 3.52e-6), _result(1350.0, 4.58e-6, 2.18e-6)]
    fit = fit_arrhenius(runs)
    # the weighted fit of these two points, by hand: Ea = -k ln(D2/D1) / (1/T2 - 1/T1)
    ea = -KB * math.log(4.58e-6 / 8.53e-6) / (1 / 1350.0 - 1 / 1200.0)
    assert fit.raw_activation_energy_eV == pytest.approx(ea, rel=1e-9)
    assert ea == pytest.approx(-0.578, abs=2e-3)  # the run printed -0.578 as a result
    assert fit.activation_energy_eV is None
    assert fit.conductivity_at_target_mS_cm is None
    assert fit.conductivity_at_target_ci_mS_cm is None
    assert fit.prefactor_cm2_s is None
    std = fit.raw_activation_energy_std_eV
    assert fit.not_determined.startswith(
        f"Ea = -0.579 ± {std:.2g} eV ≤ 0: D does not rise with temperature over 1200–1350 K"
    )
    # a document stored by the previous release (Ea and sigma as results) is judged when read
    old = {
        **fit.model_dump(exclude={"not_determined", "raw_activation_energy_eV",
                                  "raw_activation_energy_std_eV"}),
        "activation_energy_eV": ea, "activation_energy_std_eV": 0.587,
        "conductivity_at_target_mS_cm": 4.84e10, "conductivity_at_target_ci_mS_cm": [1e-4, 2e25],
    }  # fmt: skip
    read = type(fit).model_validate(old)
    assert read.activation_energy_eV is None
    assert read.conductivity_at_target_mS_cm is None
    assert read.raw_activation_energy_std_eV == 0.587
    # a positive Ea stays a result
    rising = fit_arrhenius([_result(1200.0, 4.58e-6, 2e-6), _result(1350.0, 8.53e-6, 3e-6)])
    assert rising.activation_energy_eV == pytest.approx(-ea, rel=1e-9)
    assert rising.not_determined is None
