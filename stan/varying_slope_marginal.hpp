// The analytic gradient of varying_slope_marginal.stan's marginal_log_likelihood,
// for the lean sampler of chapter 5's study (bhm.stan._lean).
//
// Why. The study fits this two-parameter program 10,800 times. Stan's automatic
// differentiation records every step of the Stan function (three autodiff nodes
// per group, about forty for the 3 x 3 algebra) and sweeps back through them at
// every leapfrog step. Here the value and both partial derivatives are computed
// in plain numbers, and Stan gets one autodiff node with the two partials: a
// study fit samples in 0.42-0.44 of the time (measured on 5 x 50, 10 x 200 and
// 50 x 500 cells, 40 fits each, the two modules alternating in one process).
// NUTS, the transforms, the priors and generated quantities stay Stan's.
//
// How it is used. bhm.stan._lean pastes this file into the C++ that stanc
// generates from the program, inside the model's namespace, before the model
// class. The function below then overloads the template that stanc generated
// from the Stan function: for autodiff arguments (the gradient) C++ picks this
// non-template overload; with plain numbers (the log density without gradient,
// which NUTS does not ask for) the Stan function stays in use. httpstan's and
// CmdStan's builds never see this file: they differentiate the Stan function,
// which is the definition. tests/test_stan.py checks that the two agree, value
// and gradient, to 1e-10 relative, under the study's kinds of prior (normal or
// flat on gamma; half-Cauchy, half-normal or uniform on sigma_b).
//
// The algebra, in the notation of the Stan program's opening comment (whose u_j is
// the group-level predictor; sigma_b^2 is vb here). With vb = sigma_b^2,
// vy = sigma_y^2, tau_j^2 = vb + vy / Sxx_j, w_j = 1 / tau_j^2 and
//   T = -(1/2) sum_j log tau_j^2 - (1/2) Q,   Q = A / vy + s_10 - g' H^-1 g + log det H
// (s_10 = sum_j w_j b0_j^2, s[9] below),
// where H and g are sums over groups of w_j z_j z_j' and w_j b0_j z_j plus the
// terms in vy and the prior, the derivatives of g' H^-1 g and log det H
// (d(g' H^-1 g) = 2 theta' dg - theta' dH theta with theta = H^-1 g, and
// d log det H = tr(H^-1 dH)) give, per group,
//   dQ / dw_j = (b0_j - theta' z_j)^2 + z_j' H^-1 z_j =: q_j,
// and, from the terms of H and g in vy (C / vy in H_11, B / vy in g_1),
//   dQ / dvy (w fixed) = (-A + 2 B theta_1 - C theta_1^2 - C (H^-1)_11) / vy^2.
// With dw_j / dvb = -w_j^2 and dw_j / dvy = -w_j^2 / Sxx_j:
//   dT / dvb = (1/2) sum_j w_j (q_j w_j - 1),
//   dT / dvy = (1/2) sum_j w_j (q_j w_j - 1) / Sxx_j - (1/2) dQ / dvy (w fixed),
// and dT / dsigma_b = 2 sigma_b dT / dvb, dT / dsigma_y = 2 sigma_y dT / dvy.
// Each group costs a few multiplications; nothing is allocated.
inline stan::math::var marginal_log_likelihood(
    const stan::math::var& sigma_b, const stan::math::var& sigma_y,
    const Eigen::Map<Eigen::Matrix<double, -1, 1>>& inv_sxx, const Eigen::Map<Eigen::Matrix<double, -1, -1>>& M,
    const double& A, const double& B, const double& C, const Eigen::Map<Eigen::Matrix<double, -1, 1>>& prior_precision,
    const Eigen::Map<Eigen::Matrix<double, -1, 1>>& prior_mean, std::ostream* pstream__) {
  // the columns of M (see the program's transformed data): c_j, u_j and b0_j, so z_j = (c_j, 1, u_j)
  constexpr int c_col = 1, u_col = 4, b0_col = 7;
  const double sb = sigma_b.val(), sy = sigma_y.val();
  const double vb = sb * sb, vy = sy * sy;
  const Eigen::Index J = M.rows();
  // first pass: the weighted sums s_k = sum_j w_j M_jk and sum_j log tau_j^2
  double s[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  double sum_log_tau2 = 0;
  for (Eigen::Index j = 0; j < J; ++j) {
    const double tau2 = std::fma(vy, inv_sxx[j], vb);
    const double w = 1 / tau2;
    sum_log_tau2 += std::log(tau2);
    for (int k = 0; k < 10; ++k) s[k] += w * M(j, k);
  }
  // H, g, the Cholesky factor L of H and v = L^-1 g, as the program's gaussian_part
  const double h11 = s[0] + C / vy + prior_precision[0], h22 = s[3] + prior_precision[1],
               h33 = s[5] + prior_precision[2];
  const double g1 = s[6] + B / vy + prior_precision[0] * prior_mean[0], g2 = s[7] + prior_precision[1] * prior_mean[1],
               g3 = s[8] + prior_precision[2] * prior_mean[2];
  const double l11 = std::sqrt(h11), l21 = s[1] / l11, l31 = s[2] / l11;
  const double l22 = std::sqrt(h22 - l21 * l21), l32 = (s[4] - l31 * l21) / l22;
  const double l33 = std::sqrt(h33 - l31 * l31 - l32 * l32);
  const double v1 = g1 / l11, v2 = (g2 - l21 * v1) / l22, v3 = (g3 - l31 * v1 - l32 * v2) / l33;
  const double value = -0.5 * sum_log_tau2 - 0.5 * (A / vy + s[9] - (v1 * v1 + v2 * v2 + v3 * v3))
                       - std::log(l11 * l22 * l33);
  // theta = H^-1 g = L'^-1 v, and H^-1 = L'^-1 L^-1 from K = L^-1 (lower triangular)
  const double t3 = v3 / l33, t2 = (v2 - l32 * t3) / l22, t1 = (v1 - l21 * t2 - l31 * t3) / l11;
  const double k11 = 1 / l11, k22 = 1 / l22, k33 = 1 / l33;
  const double k21 = -l21 * k11 / l22, k32 = -l32 * k22 / l33, k31 = -(l31 * k11 + l32 * k21) / l33;
  // H^-1 entries: (K'K)_ab = sum_i K_ia K_ib
  const double i11 = k11 * k11 + k21 * k21 + k31 * k31, i12 = k21 * k22 + k31 * k32, i13 = k31 * k33;
  const double i22 = k22 * k22 + k32 * k32, i23 = k32 * k33, i33 = k33 * k33;
  // second pass: q_j and the two sums of the gradient
  double d_vb = 0, d_vy = 0;
  for (Eigen::Index j = 0; j < J; ++j) {
    const double w = 1 / std::fma(vy, inv_sxx[j], vb);
    const double c = M(j, c_col), uj = M(j, u_col), b0 = M(j, b0_col);
    const double r = b0 - (t1 * c + t2 + t3 * uj);
    const double zHz = i11 * c * c + i22 + i33 * uj * uj + 2 * (i12 * c + i13 * c * uj + i23 * uj);
    const double term = w * ((r * r + zHz) * w - 1);
    d_vb += term;
    d_vy += term * inv_sxx[j];
  }
  d_vb *= 0.5;
  d_vy = 0.5 * d_vy - 0.5 * (-A + 2 * B * t1 - C * t1 * t1 - C * i11) / (vy * vy);
  const double d_sigma_b = 2 * sb * d_vb, d_sigma_y = 2 * sy * d_vy;
  return stan::math::make_callback_var(value, [sigma_b, sigma_y, d_sigma_b, d_sigma_y](auto& vi) mutable {
    sigma_b.adj() += vi.adj() * d_sigma_b;
    sigma_y.adj() += vi.adj() * d_sigma_y;
  });
}
