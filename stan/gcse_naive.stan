// The GCSE model written the naive way: kept only as the baseline of
// benchmarks/gcse.py. The book fits gcse_marginal.stan, which defines the same
// posterior (same priors; the school effects integrated out, then drawn
// exactly), and gcse_cells.stan is the step between the two.
//
// What makes it slow, on purpose:
//  * centred: the school effects (alpha_j, beta_j) are parameters drawn from
//    multi_normal(mu, Sigma), so the sampler meets the funnel between the
//    effects and their SDs that chapter 4 measured;
//  * one multi_normal statement per school, each factorising its own 2 x 2
//    covariance matrix, instead of one Cholesky factor for all;
//  * one likelihood term per student, in a loop (1,725 per evaluation).
data {
  int<lower=1> N;                          // number of students
  int<lower=1> J;                          // number of schools
  array[N] int<lower=1, upper=J> school;   // school j[i] of student i
  vector<lower=0, upper=1>[N] x;           // female: 1, male: 0
  vector[N] y;                             // coursework score
  vector[2] mu_loc;                        // prior means of mu_alpha, mu_beta
  vector<lower=0>[2] mu_scale;             // prior sds of mu_alpha, mu_beta
  vector<lower=0>[2] tau_scale;            // half-normal scales of sigma_alpha, sigma_beta
  real<lower=0> sigma_scale;               // half-normal scale of sigma_y
  real<lower=0> lkj_eta;                   // LKJ shape of the correlation prior
}
parameters {
  real mu_alpha;
  real mu_beta;
  real<lower=0> sigma_alpha;
  real<lower=0> sigma_beta;
  corr_matrix[2] Omega;                    // correlation matrix itself, not its Cholesky factor
  array[J] vector[2] ab;                   // (alpha_j, beta_j), centred
  real<lower=0> sigma_y;
}
model {
  matrix[2, 2] Sigma = quad_form_diag(Omega, [sigma_alpha, sigma_beta]');
  mu_alpha ~ normal(mu_loc[1], mu_scale[1]);
  mu_beta ~ normal(mu_loc[2], mu_scale[2]);
  sigma_alpha ~ normal(0, tau_scale[1]);
  sigma_beta ~ normal(0, tau_scale[2]);
  Omega ~ lkj_corr(lkj_eta);
  sigma_y ~ normal(0, sigma_scale);
  for (j in 1:J) {
    ab[j] ~ multi_normal([mu_alpha, mu_beta]', Sigma);
  }
  for (i in 1:N) {
    y[i] ~ normal(ab[school[i]][1] + ab[school[i]][2] * x[i], sigma_y);
  }
}
generated quantities {
  vector[J] alpha;
  vector[J] beta;
  real rho = Omega[1, 2];
  for (j in 1:J) {
    alpha[j] = ab[j][1];
    beta[j] = ab[j][2];
  }
}
