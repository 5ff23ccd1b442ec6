// The GCSE coursework model, course ~ 1 + female + (1 + female | school),
// with the school effects integrated out (chapter 6, issue 6).
//
// The same model and priors as varying_intercept_slope.stan and gcse_cells.stan:
//   y_i = alpha_{j[i]} + beta_{j[i]} * x_i + epsilon_i,    epsilon_i ~ N(0, sigma_y)
//   (alpha_j, beta_j)' ~ MVN(mu, Sigma),   mu = (mu_alpha, mu_beta)',
//   Sigma = diag(tau) Omega diag(tau),     tau = (sigma_alpha, sigma_beta)',
// but NUTS explores only the six hyperparameters. The school effects are
// drawn afterwards, exactly, in generated quantities.
//
// Why this is allowed. Everything is normal, so chapter 1's algebra applies
// twice over.
// (1) Integrate out (alpha_j, beta_j). As in gcse_cells.stan the data enter
//     through each school-by-gender cell c: its count n_c, mean ybar_c and
//     within-cell sum of squares w_c. Given the cell mean m_c = alpha_j + beta_j x_c,
//       ybar_c ~ N(m_c, sigma_y^2 / n_c)   and   W = sum_c w_c ~ sigma_y^2 chi^2_{N - C},
//     independently. With z_c = (1, x_c)' the cell means of school j are
//     normal with mean z_c' mu and covariance
//       cov(ybar_c, ybar_d) = z_c' Sigma z_d + [c = d] sigma_y^2 / n_c,
//     so the likelihood of the hyperparameters is a product over the 73
//     schools of one- or two-dimensional normal densities (a school has a
//     boys' cell, a girls' cell, or both), times
//       sigma_y^{-(N - C)} exp(-W / (2 sigma_y^2)).
//     tests/test_gcse_bayes.py checks this against the per-student marginal
//     density, y_j ~ MVN(X_j mu, X_j Sigma X_j' + sigma_y^2 I), to 1e-8.
// (2) Given the hyperparameters, (alpha_j, beta_j) has the conjugate normal
//     posterior of chapter 1, in two dimensions: precision
//       Q_j = Sigma^{-1} + sum_{c in j} (n_c / sigma_y^2) z_c z_c',
//     mean Q_j^{-1} (Sigma^{-1} mu + sum_{c in j} (n_c / sigma_y^2) ybar_c z_c).
//     One exact draw from it per posterior draw of the hyperparameters gives
//     draws from the joint posterior, with no Markov chain of their own.
//     We draw it without inverting Sigma or Q_j (both are near-singular when
//     rho is near +-1 or a sigma near 0, as at small J), by conditioning a
//     joint draw (Matheron's rule): draw theta* ~ N(mu, Sigma) and, given it,
//     cell means ybar*_c ~ N(z_c' theta*, sigma_y^2 / n_c); then
//       theta = theta* + Sigma Z_j' V_j^{-1} (ybar_j - ybar*_j),
//       V_j = Z_j Sigma Z_j' + diag(sigma_y^2 / n_c),
//     has exactly the conditional distribution above (it is normal, and its
//     mean and covariance are the conditional ones). Only V_j, at most 2 x 2
//     and positive definite because sigma_y > 0, is solved against.
//
// Why bother. The posterior that NUTS sees has 6 dimensions instead of 152, no
// funnel between the sigmas and the school effects, and each gradient costs
// O(J) work on 2 x 2 matrices. On the GCSE data this makes the worst-mixing
// quantity several times more efficient per second than gcse_cells.stan
// (benchmarks/gcse.py). The trick needs a normal likelihood and a normal
// population distribution; for a logistic or Poisson outcome use the
// non-centred program instead.
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
  real W = sum(ss - square(s) ./ n);       // within-cell sum of squares
  // Split the schools into those with two cells (first, second) and those with one.
  array[J] int cells_in = rep_array(0, J);
  array[J] int first = rep_array(0, J);
  array[J] int second = rep_array(0, J);
  for (c in 1:C) {
    cells_in[school[c]] += 1;
    if (cells_in[school[c]] == 1) first[school[c]] = c;
    else if (cells_in[school[c]] == 2) second[school[c]] = c;
    else reject("school ", school[c], " has more than two cells");
  }
  int P = 0;                               // schools with two cells
  for (j in 1:J) {
    if (cells_in[j] == 0) reject("school ", j, " has no cell");
    P += cells_in[j] == 2;
  }
  array[P] int c1;                         // their two cells
  array[P] int c2;
  array[J - P] int c0;                     // the only cell of the other schools
  {
    int p = 0;
    int q = 0;
    for (j in 1:J) {
      if (cells_in[j] == 2) {
        p += 1;
        c1[p] = first[j];
        c2[p] = second[j];
      } else {
        q += 1;
        c0[q] = first[j];
      }
    }
  }
}
parameters {
  real mu_alpha;                           // mean intercept
  real mu_beta;                            // mean slope
  real<lower=0> sigma_alpha;               // sd of the intercepts
  real<lower=0> sigma_beta;                // sd of the slopes
  cholesky_factor_corr[2] L_Omega;         // Cholesky factor of their correlation
  real<lower=0> sigma_y;                   // residual sd
}
transformed parameters {
  real rho = L_Omega[2, 1];                // correlation of intercepts and slopes
}
model {
  // Priors: exactly those of varying_intercept_slope.stan (values are data).
  mu_alpha ~ normal(mu_loc[1], mu_scale[1]);
  mu_beta ~ normal(mu_loc[2], mu_scale[2]);
  sigma_alpha ~ normal(0, tau_scale[1]);   // half-normal through the lower bound
  sigma_beta ~ normal(0, tau_scale[2]);
  L_Omega ~ lkj_corr_cholesky(lkj_eta);
  sigma_y ~ normal(0, sigma_scale);
  {
    // Entries of Sigma, and the covariance of two cells' population means,
    // z_c' Sigma z_d = v_aa + (x_c + x_d) v_ab + x_c x_d v_bb.
    real v_aa = square(sigma_alpha);
    real v_bb = square(sigma_beta);
    real v_ab = rho * sigma_alpha * sigma_beta;
    real s2 = square(sigma_y);
    vector[C] d = ybar - (mu_alpha + mu_beta * x);                              // deviations from z_c' mu
    vector[C] v = v_aa + 2 * x * v_ab + square(x) * v_bb + s2 ./ n;             // variances of the cell means
    // Schools with two cells: bivariate normal density, written out.
    vector[P] v12 = v_aa + (x[c1] + x[c2]) * v_ab + x[c1] .* x[c2] * v_bb;
    vector[P] det = v[c1] .* v[c2] - square(v12);
    target += -0.5 * sum(log(det))
              - 0.5 * sum((v[c2] .* square(d[c1]) - 2 * v12 .* d[c1] .* d[c2] + v[c1] .* square(d[c2])) ./ det);
    // Schools with one cell: univariate normal density.
    target += -0.5 * sum(log(v[c0])) - 0.5 * sum(square(d[c0]) ./ v[c0]);
    // Within-cell variation: a function of sigma_y only.
    target += -(N - C) * log(sigma_y) - 0.5 * W / s2;
  }
}
generated quantities {
  vector[J] alpha;                         // school intercepts
  vector[J] beta;                          // school slopes
  {
    matrix[2, 2] L_Sigma = diag_pre_multiply([sigma_alpha, sigma_beta]', L_Omega);
    matrix[2, 2] Sigma = multiply_lower_tri_self_transpose(L_Sigma);
    vector[2] mu = [mu_alpha, mu_beta]';
    for (j in 1:J) {
      int k = cells_in[j];
      array[k] int cells;                  // the school's one or two cells
      cells[1] = first[j];
      if (k == 2) cells[2] = second[j];
      matrix[k, 2] Z = append_col(rep_vector(1, k), x[cells]);
      // a joint draw of (theta*, ybar*) from the model, given the hyperparameters
      vector[2] theta = mu + L_Sigma * to_vector(normal_rng(rep_vector(0, 2), 1));
      vector[k] noise = sigma_y ./ sqrt(n[cells]);
      vector[k] ybar_sim = Z * theta + noise .* to_vector(normal_rng(rep_vector(0, k), 1));
      // condition on the observed cell means
      matrix[k, k] V = add_diag(quad_form_sym(Sigma, Z'), square(noise));
      theta += Sigma * Z' * mdivide_left_spd(V, ybar[cells] - ybar_sim);
      alpha[j] = theta[1];
      beta[j] = theta[2];
    }
  }
}
