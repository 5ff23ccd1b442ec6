// The GCSE coursework model, course ~ 1 + female + (1 + female | school),
// fitted from per-cell sufficient statistics (chapter 6, issue 6).
//
// The same model, parameters and priors as varying_intercept_slope.stan:
//   y_i = alpha_{j[i]} + beta_{j[i]} * x_i + epsilon_i,    epsilon_i ~ N(0, sigma_y)
//   (alpha_j, beta_j)' ~ MVN((mu_alpha, mu_beta)', diag(tau) Omega diag(tau)),
// non-centred through the Cholesky factor of Omega, with an LKJ prior on Omega.
// tests/test_gcse_bayes.py checks that the log density equals that program's
// up to a constant.
//
// Only the likelihood differs. With one binary predictor every student in a
// school-by-gender cell c has the same mean m_c = alpha_j + beta_j x_c, so the
// normal likelihood depends on the data only through the cell's count n_c,
// sum s_c and sum of squares ss_c:
//   sum_{i in c} (y_i - m_c)^2 = ss_c - 2 m_c s_c + n_c m_c^2
//                              = w_c + n_c (ybar_c - m_c)^2,
// with ybar_c = s_c / n_c and the within-cell sum of squares
// w_c = ss_c - s_c^2 / n_c. We use the second form: it is the same number, but
// it does not subtract two sums of squared scores (about 10^7 for the GCSE
// data) from each other at every evaluation, so it loses no digits. The log
// likelihood is then -N log(sigma_y) - (W + sum_c n_c (ybar_c - m_c)^2) / (2 sigma_y^2),
// N = sum n_c, W = sum w_c, up to the constant -N log(sqrt(2 pi)), which
// `y ~ normal(...)` in the per-observation program drops too.
// One evaluation costs O(C) (145 cells for the GCSE data) instead of O(N) (1,725 students).
data {
  int<lower=1> C;                          // number of school-by-gender cells
  int<lower=1> J;                          // number of schools
  array[C] int<lower=1, upper=J> school;   // school j[c] of cell c
  vector<lower=0, upper=1>[C] x;           // predictor of the cell (female: 1, male: 0)
  vector<lower=1>[C] n;                    // students in the cell (no empty cells)
  vector[C] s;                             // sum of their outcomes
  vector<lower=0>[C] ss;                   // sum of their squared outcomes
  vector[2] mu_loc;                        // prior means of mu_alpha, mu_beta
  vector<lower=0>[2] mu_scale;             // prior sds of mu_alpha, mu_beta
  vector<lower=0>[2] tau_scale;            // half-normal scales of sigma_alpha, sigma_beta
  real<lower=0> sigma_scale;               // half-normal scale of sigma_y
  real<lower=0> lkj_eta;                   // LKJ shape of the correlation prior
}
transformed data {
  real N = sum(n);                         // number of students
  vector[C] ybar = s ./ n;                 // cell means
  // Within-cell sum of squares, once: sum_i (y_i - ybar_c)^2. Rounding can make
  // a one-student cell's value a hair below 0; it is a constant, so harmless.
  real W = sum(ss - square(s) ./ n);
}
parameters {
  real mu_alpha;                           // mean intercept
  real mu_beta;                            // mean slope
  real<lower=0> sigma_alpha;               // sd of the intercepts
  real<lower=0> sigma_beta;                // sd of the slopes
  cholesky_factor_corr[2] L_Omega;         // Cholesky factor of their correlation
  matrix[2, J] z;                          // standardised school effects
  real<lower=0> sigma_y;                   // residual sd
}
transformed parameters {
  vector[J] alpha;                         // school intercepts
  vector[J] beta;                          // school slopes
  {
    matrix[2, J] effects = diag_pre_multiply([sigma_alpha, sigma_beta]', L_Omega) * z;
    alpha = mu_alpha + effects[1]';
    beta = mu_beta + effects[2]';
  }
}
model {
  // Priors: exactly those of varying_intercept_slope.stan (values are data).
  mu_alpha ~ normal(mu_loc[1], mu_scale[1]);
  mu_beta ~ normal(mu_loc[2], mu_scale[2]);
  sigma_alpha ~ normal(0, tau_scale[1]);   // half-normal through the lower bound
  sigma_beta ~ normal(0, tau_scale[2]);
  L_Omega ~ lkj_corr_cholesky(lkj_eta);
  to_vector(z) ~ std_normal();
  sigma_y ~ normal(0, sigma_scale);
  // Likelihood from the cells' sufficient statistics (see the header), vectorised.
  {
    vector[C] m = alpha[school] + beta[school] .* x;    // cell means
    target += -N * log(sigma_y) - 0.5 * (W + dot_product(n, square(ybar - m))) / square(sigma_y);
  }
}
generated quantities {
  real rho = L_Omega[2, 1];                // correlation of intercepts and slopes
}
