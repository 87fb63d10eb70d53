"""The corpus: programs with the variables to differentiate and, where the form matters, the
expected closed form (written in matcalc's own language, compared after simplification).

Every case is also checked against central finite differences. Equation numbers refer to
The Matrix Cookbook (Petersen & Pedersen, 2012).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    wrt: tuple[str, ...]
    expected: dict[str, str] = field(default_factory=dict)
    order: int = 1
    of: str | None = None


def case(id: str, source: str, wrt: str, expected: str | dict | None = None, **kw) -> Case:
    names = tuple(wrt.split(","))
    if isinstance(expected, str):
        expected = {names[0]: expected}
    return Case(id, source, names, expected or {}, **kw)


SQUARE = "X, A, B, C in R^(n,n)\n"
VECTORS = "a, b, c in R^n\n"

CASES = [
    # ── Traces (Cookbook §2.5) ────────────────────────────────────────────────────────────────
    case("trace/X (100)", SQUARE + "f = tr(X)", "X", "I"),
    case("trace/XA (101)", SQUARE + "f = tr(X A)", "X", "A'"),
    case("trace/AXB (102)", "A in R^(m,n); X in R^(n,p); B in R^(p,m); f = tr(A X B)", "X", "A' B'"),
    case("trace/AXtB (103)", "A in R^(m,n); X in R^(p,n); B in R^(p,m); f = tr(A X' B)", "X", "B A"),
    case("trace/XtA (104)", SQUARE + "f = tr(X' A)", "X", "A"),
    case("trace/AXt (105)", SQUARE + "f = tr(A X')", "X", "A"),
    case("trace/kron (106)", "A in R^(m,m); X in R^(n,n); f = tr(A ⊗ X)", "X", "tr(A) I"),
    case("trace/X2 (107)", SQUARE + "f = tr(X^2)", "X", "2 X'"),
    case("trace/X2B (108)", SQUARE + "f = tr(X^2 B)", "X", "(X B + B X)'"),
    case("trace/XtBX (109)", "X in R^(n,m); B in R^(n,n); f = tr(X' B X)", "X", "(B + B') X"),
    case("trace/XBXt (110)", "X in R^(m,n); B in R^(n,n); f = tr(X B X')", "X", "X (B' + B)"),
    case("trace/AXBX (112)", SQUARE + "f = tr(A X B X)", "X", "A' X' B' + B' X' A'"),
    case("trace/XtX (113)", "X in R^(n,m); f = tr(X' X)", "X", "2 X"),
    case("trace/BXXt (114)", "X in R^(n,m); B in R^(n,n); f = tr(B X X')", "X", "(B + B') X"),
    case("trace/BtXtCXB (116)", "X in R^(m,n); B in R^(n,p); C in R^(m,m); f = tr(B' X' C X B)", "X",
         "(C' + C) X B B'"),
    case("trace/XtBXC (117)", SQUARE + "f = tr(X' B X C)", "X", "B X C + B' X C'"),
    case("trace/AXBXtC (118)", SQUARE + "f = tr(A X B X' C)", "X"),
    case("trace/quadratic (119)", "A in R^(m,n); X in R^(n,p); B in R^(p,q); C in R^(m,q)\n"
         "f = tr((A X B + C)(A X B + C)')", "X", "2 A'(A X B + C) B'"),
    case("trace/X3 (121)", SQUARE + "f = tr(X^3)", "X"),
    case("trace/AXinvB (124)", SQUARE + "f = tr(A X⁻¹ B)", "X", "−X⁻ᵀ A' B' X⁻ᵀ"),
    case("trace/XinvA", SQUARE + "f = tr(inv(X) A)", "X", "−X⁻ᵀ A' X⁻ᵀ"),
    case("trace/kron XX", SQUARE + "f = tr(X ⊗ X)", "X", "2 tr(X) I"),
    case("trace/(X+A)inv", SQUARE + "f = tr((X + A)⁻¹)", "X"),
    case("trace/Sym SX", "S in Sym(n); A in R^(n,n); f = tr(S A S)", "S"),
    # "Other" traces (§2.5.4) and higher order (§2.5.3)
    case("trace/other (126)", "X in R^(n,m); C in Sym(n); A in R^(m,m)\nf = tr(inv(X' C X) A)", "X",
         "−C X inv(X' C X) (A + A') inv(X' C X)"),
    case("trace/other (127)", "X in R^(n,m); B, C in Sym(n)\nf = tr(inv(X' C X) (X' B X))", "X",
         "2 (B − C X inv(X' C X) X' B) X inv(X' C X)"),
    case("trace/other (128)", "X in R^(n,m); B, C in Sym(n); A in Sym(m)\n"
         "f = tr(inv(A + X' C X) (X' B X))", "X"),
    case("trace/higher AX^3 (122)", SQUARE + "f = tr(A X^3)", "X"),
    case("trace/higher BtXtCXXtCXB (123)", "X in R^(n,m); B in R^(m,p); C in R^(n,n)\n"
         "f = tr(B' X' C X X' C X B)", "X"),
    # ── Gradient and Hessian of a quadratic (§2.4.4) ──────────────────────────────────────────
    case("quadratic/gradient (2.4.4)", "x, b in R^n; A in R^(n,n); f = x' A x + b' x", "x", "(A + A') x + b"),
    case("quadratic/hessian (2.4.4)", "x, b in R^n; A in R^(n,n); f = x' A x + b' x", "x", "A + A'", order=2),
    # ── Determinants (§2.1) ───────────────────────────────────────────────────────────────────
    case("det/X (49)", SQUARE + "f = det(X)", "X", "det(X) X⁻ᵀ"),
    case("det/AXB (51)", SQUARE + "f = det(A X B)", "X"),
    case("det/logdet (57)", SQUARE + "f = logdet(X)", "X", "X⁻ᵀ"),
    case("det/logdet XtX (55)", "X in R^(n,m); f = logdet(X' X)", "X", "2 X inv(X' X)"),
    case("det/logdet XtX square", SQUARE + "f = logdet(X' X)", "X", "2 X⁻ᵀ"),   # det of a product
    case("det/X3 (53)", SQUARE + "f = det(X^3)", "X"),
    case("det/Xinv", SQUARE + "f = det(X⁻¹)", "X"),
    case("det/XtAX (54)", "X in R^(n,m); A in Sym(n); f = det(X' A X)", "X",
         "2 det(X' A X) A X inv(X' A X)"),
    case("det/XtAX square", "X in R^(n,n); A in Sym(n); f = det(X' A X)", "X",
         "2 det(A) det(X)² X⁻ᵀ"),
    case("det/logdet SPD", "S in SPD(n); f = logdet(S)", "S", "S⁻¹"),
    case("det/logdet kron", "A in R^(m,m); X in R^(n,n); f = logdet(A ⊗ X)", "X"),   # m X⁻ᵀ
    # ── Inverses (§2.2) ───────────────────────────────────────────────────────────────────────
    case("inverse/aXinvb (61)", SQUARE + VECTORS + "f = a' X⁻¹ b", "X", "−X⁻ᵀ a b' X⁻ᵀ"),
    case("inverse/sum", SQUARE + "f = sum(X^(-1))", "X"),
    case("inverse/A+X", SQUARE + VECTORS + "f = a' (A + X)⁻¹ a", "X"),
    # ── Linear and bilinear forms (§2.4.1) ────────────────────────────────────────────────────
    case("linear/xta (69)", "x, a in R^n; f = x' a", "x", "a"),
    case("linear/atx (69)", "x, a in R^n; f = a' x", "x", "a"),
    case("linear/aXb (70)", "a in R^m; X in R^(m,n); b in R^n; f = a' X b", "X", "a b'"),
    case("linear/aXtb (71)", "a in R^n; X in R^(m,n); b in R^m; f = a' X' b", "X", "b a'"),
    case("linear/aXa (72)", "a in R^n; X in R^(n,n); f = a' X a", "X", "a a'"),
    case("linear/aXta (72)", "a in R^n; X in R^(n,n); f = a' X' a", "X", "a a'"),
    case("linear/sum", "X in R^(n,m); f = sum(X)", "X"),
    case("linear/diag", "a in R^n; X in R^(n,n); f = a' diag(X)", "X", "Diag(a)"),
    case("linear/Diag", "x in R^n; A in R^(n,n); f = tr(Diag(x) A)", "x", "diag(A)"),
    # ── Quadratic forms (§2.4.2) ──────────────────────────────────────────────────────────────
    case("quadratic/xtAx (81)", "x in R^n; A in R^(n,n); f = x' A x", "x", "(A + A') x"),
    case("quadratic/xtAx symmetric", "x in R^n; A in Sym(n); f = x' A x", "x", "2 A x"),
    case("quadratic/btXtXc (77)", "X in R^(m,n); b, c in R^n; f = b' X' X c", "X", "X (b c' + c b')"),
    case("quadratic/BxbCDxd (78)", "B in R^(p,n); C in R^(p,q); D in R^(q,n); x in R^n; b in R^p; "
         "d in R^q\nf = (B x + b)' C (D x + d)", "x", "B' C (D x + d) + D' C' (B x + b)"),
    case("quadratic/btXtDXc (80)", "X in R^(m,n); D in R^(m,m); b, c in R^n; f = b' X' D X c", "X",
         "D' X b c' + D X c b'"),
    case("quadratic/XbcDXbc (82)", "X in R^(m,n); D in R^(m,m); b in R^n; c in R^m\n"
         "f = (X b + c)' D (X b + c)", "X", "(D + D')(X b + c) b'"),
    case("quadratic/xs W (84)", "x, s in R^n; W in Sym(n); f = (x − s)' W (x − s)", "x", "2 W (x − s)"),
    case("quadratic/xs W wrt s (85)", "x, s in R^n; W in Sym(n); f = (x − s)' W (x − s)", "s",
         "−2 W (x − s)"),
    case("quadratic/xAs W (86)", "x in R^m; A in R^(m,n); s in R^n; W in Sym(m)\n"
         "f = (x − A s)' W (x − A s)", "s", "−2 A' W (x − A s)"),
    case("quadratic/xAs W wrt A (88)", "x in R^m; A in R^(m,n); s in R^n; W in Sym(m)\n"
         "f = (x − A s)' W (x − A s)", "A", "−2 W (x − A s) s'"),
    case("quadratic/aᵀx squared", "x, a in R^n; f = (a' x)^2", "x", "2 (a' x) a"),
    case("quadratic/Diag", "x, a in R^n; f = x' Diag(a) x", "x", "2 a ∘ x"),
    case("quadratic/Rayleigh", "x in R^n; A in Sym(n); f = x' A x / (x' x)", "x"),
    # ── Norms (§2.6) ──────────────────────────────────────────────────────────────────────────
    case("norm/x (129)", "x in R^n; f = ‖x‖", "x", "x/‖x‖"),
    case("norm/x−a (129)", "x, a in R^n; f = ‖x − a‖", "x", "(x − a)/‖x − a‖"),
    case("norm/x squared", "x in R^n; f = ‖x‖²", "x", "2 x"),
    case("norm/X fro squared", "X in R^(n,m); f = ‖X‖²", "X", "2 X"),
    case("norm/X fro", "X in R^(n,m); f = norm(X)", "X", "X/‖X‖"),
    case("norm/AX−B", "A in R^(m,n); X in R^(n,p); B in R^(m,p); f = ‖A X − B‖²", "X", "2 A'(A X − B)"),
    case("norm/ascii spelling", "A in R^(m,n); X in R^(n,p); B in R^(m,p); f = ||A*X - B||^2", "X",
         "2 A'(A X − B)"),
    case("norm/kron", "A in R^(m,n); B in R^(p,q); f = ‖A ⊗ B‖²", "A,B",
         {"A": "2 tr(B B') A", "B": "2 tr(A' A) B"}),
    case("norm/cosine", "x, y in R^n; f = x' y / (‖x‖ ‖y‖)", "x"),
    # ── Elementwise functions and reductions ─────────────────────────────────────────────────
    case("elementwise/sum exp", "X in R^(n,m); f = sum(exp(X))", "X", "exp(X)"),
    case("elementwise/sum log", "x in Pos(n); f = sum(log(x))", "x", "1 ⊘ x"),
    case("elementwise/logsumexp", "x in R^n; f = logsumexp(x)", "x", "softmax(x)"),
    case("elementwise/cube", "x in R^n; f = sum(x.^3)", "x", "3 x.^2"),
    case("elementwise/sqrt", "x in Pos(n); f = sum(sqrt(x))", "x"),
    case("elementwise/power −½", "x in Pos(n); f = sum(x.^(-0.5))", "x"),
    case("elementwise/division", "x, y in Pos(n); f = sum(x ./ y)", "y", "−x ⊘ y.^2"),
    case("elementwise/abs", "x in R^n; f = sum(abs(x))", "x", "sign(x)"),
    case("elementwise/relu", "W in R^(m,n); x in R^n; f = sum(relu(W x))", "W", "step(W x) x'"),
    case("elementwise/tanh", "x in R^n; f = sum(tanh(x))", "x", "1 − tanh(x).^2"),
    case("elementwise/sin cos", "x in R^n; f = sum(sin(x) ∘ cos(x))", "x"),
    case("elementwise/softplus", "x in R^n; a in R^n; f = a' softplus(x)", "x", "a ∘ σ(x)"),
    case("elementwise/scalar power", "a in R; x in R^n; f = (a x' x)^3", "a"),
    case("elementwise/entropy", "p in Pos(n); f = −sum(p ∘ log(p))", "p"),
    case("elementwise/KL", "p, q in Pos(n); f = sum(p ∘ log(p ./ q))", "q", "−p ⊘ q"),
    case("elementwise/sum x∘y", "x, y in R^n; f = sum(x ∘ y)", "x", "y"),
    # ── Machine-learning losses ───────────────────────────────────────────────────────────────
    case("ml/least squares (seed 001)", "L = ‖y − Φθ‖²", "θ", "−2 Φ'(y − Φ θ)"),
    case("ml/ridge", "X in R^(N,d); y in R^N; w in R^d; λ in R\nL = ‖y − X w‖² + λ ‖w‖²", "w",
         "2 λ w − 2 X'(y − X w)"),
    case("ml/weighted least squares", "X in R^(N,d); y in R^N; w in R^d; W in SPD(N)\n"
         "L = (y − X w)' W (y − X w)", "w", "−2 X' W (y − X w)"),
    case("ml/multi-output regression", "X in R^(N,d); Y in R^(N,k); W in R^(d,k); L = ‖Y − X W‖²", "W",
         "−2 X'(Y − X W)"),
    case("ml/logistic regression", "x, w in R^d; y in R\n"
         "L = −(y log(σ(w' x)) + (1 − y) log(1 − σ(w' x)))", "w", "(σ(w' x) − y) x"),
    case("ml/logistic regression batch", "X in R^(N,d); w in R^d; y in R^N\n"
         "s = σ(X w); L = −sum(y ∘ log(s) + (1 − y) ∘ log(1 − s))", "w", "X'(s − y)"),
    case("ml/softmax cross-entropy wrt W", "x in R^d; W in R^(k,d); y in Simplex(k)\n"
         "p = softmax(W x); L = −sum(y ∘ log(p))", "W", "(p − y) x'"),
    case("ml/softmax cross-entropy wrt x", "x in R^d; W in R^(k,d); y in OneHot(k)\n"
         "p = softmax(W x); L = −sum(y ∘ log(p))", "x", "W'(p − y)"),
    case("ml/softmax cross-entropy general y", "x in R^d; W in R^(k,d); y in R^k\n"
         "L = −sum(y ∘ log(softmax(W x)))", "W,x"),
    case("ml/gaussian nll wrt mean", "x, μ in R^n; Σ in SPD(n)\n"
         "L = ½ (x − μ)' Σ⁻¹ (x − μ) + ½ logdet(Σ)", "μ", "−Σ⁻¹ (x − μ)"),
    case("ml/gaussian nll wrt covariance", "x, μ in R^n; Σ in SPD(n)\n"
         "L = ½ (x − μ)' Σ⁻¹ (x − μ) + ½ logdet(Σ)", "Σ", "½ (Σ⁻¹ − Σ⁻¹ (x − μ) (x − μ)' Σ⁻¹)"),
    case("ml/mahalanobis", "x, μ in R^n; S in SPD(n); d = sqrt((x − μ)' inv(S) (x − μ))", "x",
         "S⁻¹ (x − μ)/√((x − μ)' S⁻¹ (x − μ))"),
    case("ml/poisson", "X in R^(N,d); w in R^d; y in R^N; L = sum(exp(X w) − y ∘ (X w))", "w",
         "X'(exp(X w) − y)"),
    case("ml/hinge (smooth side)", "x, w in R^d; y in R; L = relu(1 − y w' x)", "w"),
    case("ml/softplus network", "W1 in R^(h,d); W2 in R^(1,h); x in R^d\n"
         "L = sum(softplus(W2 softplus(W1 x)))", "W1,W2"),
    case("ml/relu network", "W1 in R^(h,d); b1 in R^h; W2 in R^(k,h); x in R^d; y in R^k\n"
         "z = relu(W1 x + b1); L = ½ ‖W2 z − y‖²", "W1,b1,W2"),
    case("ml/tanh 3 layers", "h1 = tanh(W1 x + b1); h2 = tanh(W2 h1 + b2); o = W3 h2 + b3\n"
         "L = ½ ‖o − y‖²", "W1,b1,W2,b2,W3,b3"),
    case("ml/tanh 4 layers", "h1 = tanh(W1 x + b1); h2 = tanh(W2 h1 + b2); h3 = tanh(W3 h2 + b3)\n"
         "o = W4 h3 + b4; L = ½ ‖o − y‖²", "W1,b1,W2,b2,W3,b3,W4,b4"),
    case("ml/low rank", "X in R^(m,n); U in R^(m,r); V in R^(n,r); L = ‖X − U V'‖²", "U,V",
         {"U": "−2 (X − U V') V", "V": "−2 (X − U V')' U"}),
    case("ml/pca", "W in R^(n,k); C in SPD(n); f = tr(W' C W)", "W", "2 C W"),
    case("ml/attention readout", "q in R^d; K in R^(t,d); V in R^(t,v); y in R^v\n"
         "a = softmax(K q); L = ‖V' a − y‖²", "q,K,V"),
    # ── Seeds ─────────────────────────────────────────────────────────────────────────────────
    case("seed 000/one line", "E = ½‖σ(Wx)−y‖²", "W", "((σ(W x) − y) ∘ σ(W x) ∘ (1 − σ(W x))) x'"),
    case("seed 000/declared", "W ∈ ℝ^{5×4}; x ∈ ℝ^4; y ∈ ℝ^5; E = ½‖σ(Wx)−y‖²", "W",
         "((σ(W x) − y) ∘ σ(W x) ∘ (1 − σ(W x))) x'"),
    case("seed 000/multi-line", "v = W x; s = σ(v); E = ½ (s−y):(s−y)", "W", "((s − y) ∘ s ∘ (1 − s)) x'"),
    case("seed 001/network", "f1 = σ(A0 x + b0); f2 = σ(A1 f1 + b1); E = ½‖f2 − y‖²", "A0,b0,A1,b1",
         {"b1": "(f2 − y) ∘ f2 ∘ (1 − f2)", "A1": "((f2 − y) ∘ f2 ∘ (1 − f2)) f1'",
          "b0": "A1'((f2 − y) ∘ f2 ∘ (1 − f2)) ∘ f1 ∘ (1 − f1)"}),
    case("seed 001/scalar", "x in R; f = √(x² + exp(x²)) + cos(x² + exp(x²))", "x",
         "x (1 + exp(x²)) (1/√(x² + exp(x²)) − 2 sin(x² + exp(x²)))"),
    case("seed 002/row vectors", "x ∈ ℝ^{1×4}\nr = x W1 + b1; h = σ(r); θ = h W2 + b2; ŷ = softmax(θ)\n"
         "J = −sum(y ∘ log(ŷ))", "x,W1,b1,W2,b2",
         {"x": "((sum(y) ŷ − y) W2' ∘ h ∘ (1 − h)) W1'", "b2": "sum(y) ŷ − y"}),
    case("seed 002/one-hot y", "x ∈ ℝ^{1×4}; y ∈ OneHot(1,3)\nr = x W1 + b1; h = σ(r); θ = h W2 + b2\n"
         "ŷ = softmax(θ); J = −sum(y ∘ log(ŷ))", "x", "((ŷ − y) W2' ∘ h ∘ (1 − h)) W1'"),
    # ── Row-vector formulations ───────────────────────────────────────────────────────────────
    case("rows/least squares", "x in R^(1,n); W in R^(n,k); y in R^(1,k); L = ‖x W − y‖²", "W",
         "2 x'(x W − y)"),
    case("rows/linear", "x, a in R^(1,n); f = x a'", "x", "a"),
    case("rows/quadratic", "x in R^(1,n); A in R^(n,n); f = x A x'", "x", "x (A' + A)"),
    case("rows/logsumexp", "x in R^(1,n); W in R^(n,k); f = logsumexp(x W)", "x", "softmax(x W) W'"),
    # ── Multi-statement programs ──────────────────────────────────────────────────────────────
    case("program/shared use", "a = W x; L = sum(exp(a)) + ‖a‖²", "W", "(exp(a) + 2 a) x'"),
    case("program/of", "a = W x; b = ‖a‖²; L = sum(a)", "W", "2 a x'", of="b"),

    case("program/scalars", "a, b in R; f = a^2 b + exp(a b)", "a,b"),
    # ── Jacobians (vector of vector), derivatives wrt scalars ─────────────────────────────────
    case("jacobian/σ(Wx)", "f = σ(W x)", "x", "Diag(σ(W x) ∘ (1 − σ(W x))) W"),
    case("jacobian/softmax", "x in R^n; p = softmax(x)", "x", "Diag(softmax(x)) − softmax(x) softmax(x)'"),
    case("jacobian/affine wrt b", "f = A x + b", "b", "I"),
    case("jacobian/affine wrt x", "f = A x + b", "x", "A"),
    case("jacobian/exp", "x in R^n; f = exp(x)", "x", "Diag(exp(x))"),
    case("jacobian/hadamard", "x, y in R^n; f = x ∘ y", "x", "Diag(y)"),
    case("jacobian/tanh", "A in R^(m,n); x in R^n; f = tanh(A x)", "x"),
    case("jacobian/normalize", "x in R^n; f = x / ‖x‖", "x"),
    case("jacobian/scalar factor", "x, a, b in R^n; f = (x' a) b", "x", "b a'"),
    case("jacobian/rows", "x in R^(1,n); W in R^(n,k); f = x W", "x", "W'"),
    case("jacobian/rows σ", "x in R^(1,n); W in R^(n,k); f = σ(x W)", "x"),
    case("jacobian/column of row", "x in R^n; W in R^(n,k); f = x' W", "x", "W'"),
    case("jacobian/kron vectors", "x in R^n; y in R^m; f = x ⊗ y", "x,y"),
    case("kron/mixed product", "A in R^(2,3); B in R^(3,2); x in R^3; y in R^2; z in R^6\n"
         "f = z' (A ⊗ B) (x ⊗ y)", "x"),
    case("kron/inverse", "A in R^(m,m); X in R^(n,n); f = tr(inv(A ⊗ X))", "X"),
    case("jacobian/vector wrt scalar", "t in R; a in R^n; f = exp(t a)", "t", "a ∘ exp(t a)"),
    case("jacobian/matrix wrt scalar", "t in R; A, B in R^(n,m); F = t A + t^2 B", "t", "A + 2 t B"),
    case("jacobian/broadcast scalar", "x in R^n; f = (x' x) + x", "x"),
    # ── Matrix functions of 1×1 values (found by fuzzing) ─────────────────────────────────────
    case("edge/diag of a scalar", "A, S, B in R^(3,3); f = ‖diag(A : S B')‖²", "A", "2 (A : S B') S B'"),
    case("edge/scalar logdet and Diag", "a in R; f = logdet(a) + sum(Diag(a)) + sum(diag(a))", "a"),
    # ── Hessians ──────────────────────────────────────────────────────────────────────────────
    case("hessian/quadratic", "x in R^n; A in R^(n,n); f = x' A x", "x", "A + A'", order=2),
    case("hessian/least squares", "x in R^n; A in R^(m,n); b in R^m; f = ‖A x − b‖²", "x", "2 A' A",
         order=2),
    case("hessian/logsumexp", "x in R^n; f = logsumexp(x)", "x", order=2),
    case("hessian/logistic", "X in R^(N,d); w in R^d; y in R^N\n"
         "L = sum(softplus(X w)) − y' X w", "w", order=2),
    case("hessian/scalar", "x in R; f = √(x² + exp(x²)) + cos(x² + exp(x²))", "x", order=2),
    case("hessian/rows", "x in R^(1,n); A in R^(n,n); f = x A x'", "x", order=2),
]
