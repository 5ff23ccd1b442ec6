// Varying intercepts and slopes explained by a group-level predictor u_j:
// the full model of Maokomatanda et al. (2020) (chapter 4). With sds:
//
//   individual level: y_i = alpha_{j[i]} + beta_{j[i]} * x_i + epsilon_i,
//                     epsilon_i ~ normal(0, sigma_y)
//   group level:      (alpha_j, beta_j)' = gamma_0 + gamma * u_j + eta_j,
//                     eta_j ~ multi_normal(0, Sigma)
//
// gamma_0 and gamma are 2-vectors: entry 1 belongs to the intercepts, entry
// 2 to the slopes. u_j is data, a measured property of group j (chapter 6
// uses the letter u for something else).
//
// Sigma = diag(tau) * Omega * diag(tau): tau holds the sds of the two group
// effects, Omega their 2 x 2 correlation matrix, with an LKJ prior (lkj_eta
// = 1: uniform over correlations; lkj_eta > 1 favours small ones).
//
// Non-centred through the Cholesky factor L_Omega of Omega, as the Stan
// User's Guide writes multivariate hierarchical priors: with z_j ~ N(0, I),
// eta_j = diag(tau) * L_Omega * z_j has covariance
// diag(tau) * L_Omega * L_Omega' * diag(tau) = Sigma.
// The sampler then moves on independent standard normals z instead of the
// funnel that (eta, tau) form when a group's data say little about it.
//
// Priors are data: normal(0, coef_scale) on each entry of gamma_0 and gamma,
// half-normal(0, tau_scale) on tau, half-normal(0, sigma_scale) on sigma_y.
data {
  int<lower=1> N;                        // number of individuals
  int<lower=1> J;                        // number of groups
  array[N] int<lower=1, upper=J> group;  // group j[i] of individual i
  vector[N] x;                           // individual-level predictor
  vector[N] y;                           // outcome
  vector[J] u;                           // group-level predictor
  real<lower=0> coef_scale;              // prior sd of gamma_0 and gamma
  real<lower=0> tau_scale;               // half-normal scale of tau
  real<lower=0> sigma_scale;             // half-normal scale of sigma_y
  real<lower=0> lkj_eta;                 // LKJ shape of the correlation
}
parameters {
  vector[2] gamma_0;                     // (intercept, slope) at u = 0
  vector[2] gamma;                       // their change per unit of u
  vector<lower=0>[2] tau;                // sds of the group effects
  cholesky_factor_corr[2] L_Omega;       // Cholesky factor of Omega
  matrix[2, J] z;                        // standardised group effects
  real<lower=0> sigma_y;                 // sd of the individual noise
}
transformed parameters {
  // group effects: row j is eta_j' = (diag(tau) * L_Omega * z_j)'
  matrix[J, 2] eta = (diag_pre_multiply(tau, L_Omega) * z)';
  vector[J] alpha = gamma_0[1] + gamma[1] * u + eta[:, 1];  // intercepts
  vector[J] beta = gamma_0[2] + gamma[2] * u + eta[:, 2];   // slopes
}
model {
  gamma_0 ~ normal(0, coef_scale);
  gamma ~ normal(0, coef_scale);
  tau ~ normal(0, tau_scale);            // half-normal: the <lower=0> bound
  L_Omega ~ lkj_corr_cholesky(lkj_eta);
  to_vector(z) ~ std_normal();           // implies eta_j ~ MVN(0, Sigma)
  sigma_y ~ normal(0, sigma_scale);
  y ~ normal(alpha[group] + beta[group] .* x, sigma_y);
}
generated quantities {
  real rho = L_Omega[2, 1];              // correlation of the two effects
}
