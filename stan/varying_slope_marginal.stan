// The varying-slope model of Maokomatanda et al. (2020) with everything
// Gaussian integrated out: chapter 5's Monte Carlo study samples only the two
// standard deviations and draws every other parameter exactly afterwards.
//
//   y_ij = alpha + beta_j x_ij + e_ij,  e_ij ~ N(0, sigma_y^2),
//   beta_j ~ N(gamma_0 + gamma_1 u_j, sigma_b^2),
//   alpha ~ N(0, 10^2), gamma_k ~ N(gamma_loc, gamma_scale^2) or flat.
//
// Step 1, the slopes. Given the rest, group j's likelihood is a normal kernel
// in beta_j: with Sxx = sum x^2 and the group's least-squares slope through
// alpha, b_j = (Sxy - alpha Sx) / Sxx = b0_j - alpha c_j,
//   sum_i (y_i - alpha - beta_j x_i)^2 = RSS_j(alpha) + Sxx (beta_j - b_j)^2,
// and integrating beta_j against its prior leaves
//   sigma_y^-(n_j - 1) exp(-RSS_j(alpha) / (2 sigma_y^2)) * N(b_j | gamma_0 + gamma_1 u_j, tau_j^2),
//   tau_j^2 = sigma_b^2 + sigma_y^2 / Sxx_j,
// up to a constant. Summed over groups, RSS(alpha) = A - 2 alpha B + alpha^2 C.
// Step 2, theta = (alpha, gamma_0, gamma_1). Every term above is Gaussian in
// theta: with z_j = (c_j, 1, u_j) and w_j = 1 / tau_j^2 the log density is
//   -Q(theta) / 2,  Q = theta' H theta - 2 g' theta + const,
//   H = sum_j w_j z_j z_j' + e1 e1' C / sigma_y^2 + P0,
//   g = sum_j w_j b0_j z_j + e1 B / sigma_y^2 + P0 m0,
// (P0, m0: the prior's precision and mean), so integrating theta out leaves
//   -(N - J) log sigma_y + (1/2) sum log w_j
//   - (A / sigma_y^2 + sum w_j b0_j^2 - g' H^-1 g) / 2 - (1/2) log det H.
// Only (sigma_b, sigma_y) are sampled: a two-dimensional posterior without a
// funnel. Generated quantities draw theta from N(H^-1 g, H^-1) and the first
// group's effect from its normal conditional posterior, so every draw is a
// draw from the same joint posterior as the centred program's (varying_slope_suff).
// tests/test_study.py checks the log density against the multivariate normal
// of all observations, and the posterior against the centred program's.
//
// The data block is varying_slope_suff.stan's: the same dict fits both.
functions {
  // The Gaussian part (see the header), entry by entry: H and g from the sums s
  // over groups, then the Cholesky factor L of the 3 x 3 matrix H and v = L^-1 g.
  // Returns (l11, l21, l31, l22, l32, l33, v1, v2, v3). Written out for its
  // 3 x 3 size: Stan's matrix functions (cholesky_decompose, mdivide_left_tri_low)
  // cost more per gradient than this arithmetic (measured: 14-22% of a study
  // fit's wall time). The model block takes it with autodiff, generated
  // quantities in plain numbers.
  vector gaussian_part(row_vector s, real vy, real B, real C, vector prior_precision, vector prior_mean) {
    real h11 = s[1] + C / vy + prior_precision[1];
    real h22 = s[4] + prior_precision[2];
    real h33 = s[6] + prior_precision[3];
    real g1 = s[7] + B / vy + prior_precision[1] * prior_mean[1];
    real g2 = s[8] + prior_precision[2] * prior_mean[2];
    real g3 = s[9] + prior_precision[3] * prior_mean[3];
    real l11 = sqrt(h11);
    real l21 = s[2] / l11;
    real l31 = s[3] / l11;
    real l22 = sqrt(h22 - square(l21));
    real l32 = (s[5] - l31 * l21) / l22;
    real l33 = sqrt(h33 - square(l31) - square(l32));
    real v1 = g1 / l11;
    real v2 = (g2 - l21 * v1) / l22;
    real v3 = (g3 - l31 * v1 - l32 * v2) / l33;
    return [l11, l21, l31, l22, l32, l33, v1, v2, v3]';
  }
  // The log likelihood of (sigma_b, sigma_y): the log density at the top of this
  // file without the priors and the -(N - J) log sigma_y term. For the study's
  // lean sampler, the C++ file varying_slope_marginal.hpp overloads this function
  // with the same value and its analytic gradient (bhm.stan._lean pastes it into
  // this program's C++): Stan's automatic differentiation of the lines below took
  // more than half of a study fit's sampling time. Every other build (httpstan's,
  // CmdStan's) differentiates them.
  real marginal_log_likelihood(real sigma_b, real sigma_y, vector inv_sxx, matrix M, real A, real B, real C,
                               vector prior_precision, vector prior_mean) {
    real vy = square(sigma_y);
    // tau_j^2 = sigma_b^2 + sigma_y^2 / Sxx_j; fma: one autodiff node per group, not two
    vector[rows(M)] tau2 = fma(vy, inv_sxx, square(sigma_b));
    row_vector[10] s = inv(tau2)' * M;     // sums over groups of w_j times each column of M
    vector[9] f = gaussian_part(s, vy, B, C, prior_precision, prior_mean);
    // sum log w_j = -sum log tau_j^2, g' H^-1 g = v' v, (1/2) log det H = log(l11 l22 l33)
    return -0.5 * sum(log(tau2)) - 0.5 * (A / vy + s[10] - dot_self(f[7:9])) - log(f[1] * f[4] * f[6]);
  }
}
data {
  int<lower=1> J;                          // number of groups
  vector<lower=0>[J] n;                    // group sizes
  vector[J] sx;                            // sum of x in each group
  vector[J] sy;                            // sum of y
  vector[J] sxy;                           // sum of x * y
  vector<lower=0>[J] sxx;                  // sum of x^2 (each > 0)
  vector<lower=0>[J] syy;                  // sum of y^2
  vector[J] u;                             // group-level predictor
  int<lower=0, upper=1> flat_prior;        // 1: uniform prior on gamma_0, gamma_1
  vector[2] gamma_loc;                     // prior means of gamma_0, gamma_1
  vector<lower=0>[2] gamma_scale;          // prior sds of gamma_0, gamma_1
  int<lower=1, upper=3> sigma_b_prior;     // 1: half-Cauchy(0, 5); 2: half-normal(0, 1); 3: uniform(0, 100)
}
transformed data {
  vector[J] b0 = sxy ./ sxx;               // least-squares slope of each group at alpha = 0
  vector[J] c = sx ./ sxx;                 // how that slope moves with alpha
  real A = sum(syy - sxy .* b0);           // RSS(alpha) = A - 2 alpha B + alpha^2 C
  real B = sum(sy - sx .* b0);
  real C = sum(n - sx .* c);
  real n_minus_J = sum(n) - J;
  vector[J] inv_sxx = inv(sxx);
  // z_j = (c_j, 1, u_j); the columns: the entries of z_j z_j' (c^2, c, c u, 1, u, u^2),
  // of b0_j z_j (b0 c, b0, b0 u) and b0_j^2
  matrix[J, 10] M = append_col(append_col(append_col(square(c), c), append_col(c .* u, rep_vector(1, J))),
                               append_col(append_col(u, square(u)),
                                          append_col(append_col(b0 .* c, b0), append_col(b0 .* u, square(b0)))));
  vector[3] prior_precision = [1 / square(10),
                               flat_prior ? 0.0 : 1 / square(gamma_scale[1]),
                               flat_prior ? 0.0 : 1 / square(gamma_scale[2])]';
  vector[3] prior_mean = [0, gamma_loc[1], gamma_loc[2]]';
  // sigma_y is pinned down by N - J residual degrees of freedom: its posterior is
  // close to log-normal around s_hat (the residual sd around each group's own
  // line), with sd 1 / sqrt(2 (N - J)) on the log scale, 0.005 for 50 x 500.
  // Sampling z_y = (log sigma_y - log s_hat) sqrt(2 (N - J)) puts that on the
  // scale of 1, where NUTS's first step sizes work (see parameters).
  real s_hat = sqrt((A - square(B) / C) / (n_minus_J - 1));
  real z_scale = sqrt(2 * n_minus_J);
}
parameters {
  // an infinite upper bound is no bound: Stan then uses the lower-bound transform
  real<lower=0, upper=(sigma_b_prior == 3 ? 100 : positive_infinity())> sigma_b;
  real z_y;                                // sigma_y on a standardised log scale
}
transformed parameters {
  real<lower=0> sigma_y = s_hat * exp(z_y / z_scale);   // sd of the individual-level noise
}
model {
  if (sigma_b_prior == 1) {
    sigma_b ~ cauchy(0, 5);
  } else if (sigma_b_prior == 2) {
    sigma_b ~ normal(0, 1);
  }                                        // 3: uniform on (0, 100), the bounds alone
  sigma_y ~ cauchy(0, 5);
  target += log(sigma_y);                  // Jacobian of z_y -> sigma_y, up to a constant
  target += -n_minus_J * log(sigma_y)
            + marginal_log_likelihood(sigma_b, sigma_y, inv_sxx, M, A, B, C, prior_precision, prior_mean);
}
generated quantities {
  real alpha;                              // common intercept
  real gamma_0;                            // intercept of the group-level regression
  real gamma_1;                            // slope of the group-level regression on u
  // the first group's effect eta_1 = beta_1 - (gamma_0 + gamma_1 u_1), the one
  // the study records (writing all J effects per draw would cost the study more
  // than the sampling of this program; the others follow the same formula)
  real eta_1;
  {
    real vy = square(sigma_y);
    vector[9] f = gaussian_part(inv(fma(vy, inv_sxx, square(sigma_b)))' * M, vy, B, C, prior_precision,
                                prior_mean);
    // theta ~ N(H^-1 g, H^-1): solve L' theta = v + z, z ~ N(0, I), from the last entry up
    real z1 = std_normal_rng();
    real z2 = std_normal_rng();
    real z3 = std_normal_rng();
    gamma_1 = (f[9] + z3) / f[6];
    gamma_0 = (f[8] + z2 - f[5] * gamma_1) / f[4];
    alpha = (f[7] + z1 - f[2] * gamma_0 - f[3] * gamma_1) / f[1];
    // eta_1 | theta, sigma, y: normal with precision Sxx / sigma_y^2 + 1 / sigma_b^2
    real precision = sxx[1] / square(sigma_y) + 1 / square(sigma_b);
    real shift = (sxy[1] - alpha * sx[1] - sxx[1] * (gamma_0 + gamma_1 * u[1])) / square(sigma_y) / precision;
    eta_1 = normal_rng(shift, 1 / sqrt(precision));
  }
}
