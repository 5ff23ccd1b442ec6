// Varying intercepts and slopes with correlated group effects (chapter 6).
//
//   y_i = alpha_{j[i]} + beta_{j[i]} * x_i + epsilon_i,    epsilon_i ~ N(0, sigma_y)
//   (alpha_j, beta_j)' ~ MVN((mu_alpha, mu_beta)', diag(tau) Omega diag(tau)),
//   tau = (sigma_alpha, sigma_beta)'
//
// Non-centred through the Cholesky factor of the correlation matrix (Stan
// User's Guide, "Multivariate priors for hierarchical models"):
// (alpha_j, beta_j)' = mu + diag(tau) L_Omega z_j with z_j ~ N(0, I), so the
// sampler sees independent standard normals instead of a funnel. Omega has an
// LKJ prior: lkj_eta = 2 mildly favours small correlations.
// Priors are data, in the outcome's units.
data {
  int<lower=1> N;                          // number of individuals
  int<lower=1> J;                          // number of groups
  array[N] int<lower=1, upper=J> group;    // group j[i] of individual i
  vector[N] x;                             // individual-level predictor
  vector[N] y;                             // outcome
  vector[2] mu_loc;                        // prior means of mu_alpha, mu_beta
  vector<lower=0>[2] mu_scale;             // prior sds of mu_alpha, mu_beta
  vector<lower=0>[2] tau_scale;            // half-normal scales of sigma_alpha, sigma_beta
  real<lower=0> sigma_scale;               // half-normal scale of sigma_y
  real<lower=0> lkj_eta;                   // LKJ shape of the correlation prior
}
parameters {
  real mu_alpha;                           // mean intercept
  real mu_beta;                            // mean slope
  real<lower=0> sigma_alpha;               // sd of the intercepts
  real<lower=0> sigma_beta;                // sd of the slopes
  cholesky_factor_corr[2] L_Omega;         // Cholesky factor of their correlation
  matrix[2, J] z;                          // standardised group effects
  real<lower=0> sigma_y;                   // residual sd
}
transformed parameters {
  vector[J] alpha;                         // group intercepts
  vector[J] beta;                          // group slopes
  {
    matrix[2, J] effects = diag_pre_multiply([sigma_alpha, sigma_beta]', L_Omega) * z;
    alpha = mu_alpha + effects[1]';
    beta = mu_beta + effects[2]';
  }
}
model {
  mu_alpha ~ normal(mu_loc[1], mu_scale[1]);
  mu_beta ~ normal(mu_loc[2], mu_scale[2]);
  sigma_alpha ~ normal(0, tau_scale[1]);
  sigma_beta ~ normal(0, tau_scale[2]);
  L_Omega ~ lkj_corr_cholesky(lkj_eta);
  to_vector(z) ~ std_normal();
  sigma_y ~ normal(0, sigma_scale);
  y ~ normal(alpha[group] + beta[group] .* x, sigma_y);
}
generated quantities {
  real rho = L_Omega[2, 1];                // correlation of intercepts and slopes
}
