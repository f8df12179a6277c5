;; gemmNT as WebAssembly SIMD: out[r*rb + c] = sum over l of A[r, l]*B[c, l], each sum taken in the order
;; l = 0, 1, .., L-1 as s += x*w, with x promoted from f32 and a multiply then an add (no FMA), so
;; every output element is bit for bit what the JavaScript gemmNT in gemm.ts computes. The two lanes
;; of an f64x2 are two rows of A: vectorising across independent sums keeps each sum's order.
;;
;; The second export, subnt, is the Float64 kernel of the ridge solver (src/core/compensate/ridge.ts):
;; out[i, j] -= sum over l of A[i, l]*B[j, l], all f64 with strides. Each sum is taken in two lanes,
;; lane 0 over even l and lane 1 over odd l, in order, then lane 0 + lane 1, then the last product
;; when len is odd, then subtracted from out: the JavaScript subNT64 in gemm.ts does the same, so the
;; two give the same bits.
;;
;; Compiled by `npm run wasm` (scripts/buildWasm.ts) into gemmWasm.ts; a test checks that the
;; committed bytes are this file's.
;;
;; Layouts (byte addresses in the imported memory, all set up by gemm.ts):
;; - A, "row quads": rows padded with zeros to a multiple of 8; quad q (rows 4q..4q+3) takes L*16
;;   bytes, and at l holds the four f32 A[4q, l], A[4q+1, l], A[4q+2, l], A[4q+3, l].
;; - B: row-major f64, rb x L (row c at byte c*L*8).
;; - out: row-major f64, (quads*4) x rb; rows beyond A's real rows get sums of the zero padding.
(module
  (import "env" "memory" (memory 0))

  (func (export "gemm")
    (param $a i32) (param $quads i32) (param $b i32) (param $rb i32) (param $len i32) (param $out i32)
    (local $q i32) (local $c i32) (local $l i32) (local $rb4 i32) (local $rs i32) (local $bs i32) (local $bs2 i32) (local $bs3 i32)
    (local $aq i32) (local $pa i32) (local $pa2 i32) (local $pb i32) (local $o i32)
    (local $x01 v128) (local $x23 v128) (local $x45 v128) (local $x67 v128) (local $w v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $s4 v128) (local $s5 v128) (local $s6 v128) (local $s7 v128)
    (local.set $rb4 (i32.and (local.get $rb) (i32.const -4)))
    (local.set $rs (i32.shl (local.get $rb) (i32.const 3)))
    (local.set $bs (i32.shl (local.get $len) (i32.const 3)))
    (local.set $bs2 (i32.shl (local.get $bs) (i32.const 1)))
    (local.set $bs3 (i32.add (local.get $bs2) (local.get $bs)))

    ;; Part 1: four rows (one quad) x four columns at a time, eight accumulators:
    ;; $s0..$s3 hold rows 4q, 4q+1 of columns c..c+3, $s4..$s7 rows 4q+2, 4q+3.
    (local.set $q (i32.const 0))
    (block $quads_done
      (loop $each_quad
        (br_if $quads_done (i32.ge_u (local.get $q) (local.get $quads)))
        (local.set $aq (i32.add (local.get $a) (i32.mul (local.get $q) (i32.shl (local.get $len) (i32.const 4)))))
        (local.set $c (i32.const 0))
        (block $groups_done
          (loop $each_group
            (br_if $groups_done (i32.ge_u (local.get $c) (local.get $rb4)))
            (local.set $s0 (v128.const i64x2 0 0))
            (local.set $s1 (v128.const i64x2 0 0))
            (local.set $s2 (v128.const i64x2 0 0))
            (local.set $s3 (v128.const i64x2 0 0))
            (local.set $s4 (v128.const i64x2 0 0))
            (local.set $s5 (v128.const i64x2 0 0))
            (local.set $s6 (v128.const i64x2 0 0))
            (local.set $s7 (v128.const i64x2 0 0))
            (local.set $pa (local.get $aq))
            (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $c) (local.get $bs))))
            (local.set $l (local.get $len))
            (block $l_done
              (loop $each_l
                (br_if $l_done (i32.eqz (local.get $l)))
                (local.set $x01 (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pa))))
                (local.set $x23 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pa))))
                (local.set $w (v128.load64_splat (local.get $pb)))
                (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $x01) (local.get $w))))
                (local.set $s4 (f64x2.add (local.get $s4) (f64x2.mul (local.get $x23) (local.get $w))))
                (local.set $w (v128.load64_splat (i32.add (local.get $pb) (local.get $bs))))
                (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $x01) (local.get $w))))
                (local.set $s5 (f64x2.add (local.get $s5) (f64x2.mul (local.get $x23) (local.get $w))))
                (local.set $w (v128.load64_splat (i32.add (local.get $pb) (local.get $bs2))))
                (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul (local.get $x01) (local.get $w))))
                (local.set $s6 (f64x2.add (local.get $s6) (f64x2.mul (local.get $x23) (local.get $w))))
                (local.set $w (v128.load64_splat (i32.add (local.get $pb) (local.get $bs3))))
                (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (local.get $x01) (local.get $w))))
                (local.set $s7 (f64x2.add (local.get $s7) (f64x2.mul (local.get $x23) (local.get $w))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 8)))
                (local.set $l (i32.sub (local.get $l) (i32.const 1)))
                (br $each_l)))
            ;; out[(4q + r)*rb + c + k]
            (local.set $o (i32.add (local.get $out)
              (i32.add (i32.mul (i32.shl (local.get $q) (i32.const 2)) (local.get $rs)) (i32.shl (local.get $c) (i32.const 3)))))
            (f64.store offset=0 (local.get $o) (f64x2.extract_lane 0 (local.get $s0)))
            (f64.store offset=8 (local.get $o) (f64x2.extract_lane 0 (local.get $s1)))
            (f64.store offset=16 (local.get $o) (f64x2.extract_lane 0 (local.get $s2)))
            (f64.store offset=24 (local.get $o) (f64x2.extract_lane 0 (local.get $s3)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store offset=0 (local.get $o) (f64x2.extract_lane 1 (local.get $s0)))
            (f64.store offset=8 (local.get $o) (f64x2.extract_lane 1 (local.get $s1)))
            (f64.store offset=16 (local.get $o) (f64x2.extract_lane 1 (local.get $s2)))
            (f64.store offset=24 (local.get $o) (f64x2.extract_lane 1 (local.get $s3)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store offset=0 (local.get $o) (f64x2.extract_lane 0 (local.get $s4)))
            (f64.store offset=8 (local.get $o) (f64x2.extract_lane 0 (local.get $s5)))
            (f64.store offset=16 (local.get $o) (f64x2.extract_lane 0 (local.get $s6)))
            (f64.store offset=24 (local.get $o) (f64x2.extract_lane 0 (local.get $s7)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store offset=0 (local.get $o) (f64x2.extract_lane 1 (local.get $s4)))
            (f64.store offset=8 (local.get $o) (f64x2.extract_lane 1 (local.get $s5)))
            (f64.store offset=16 (local.get $o) (f64x2.extract_lane 1 (local.get $s6)))
            (f64.store offset=24 (local.get $o) (f64x2.extract_lane 1 (local.get $s7)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $each_group)))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $each_quad)))

    ;; Part 2: the last rb mod 4 columns, one at a time, eight rows (two quads) at once, four
    ;; accumulators: $s0, $s1 rows 4q..4q+3, $s2, $s3 rows 4q+4..4q+7. $quads is even.
    (local.set $c (local.get $rb4))
    (block $cols_done
      (loop $each_col
        (br_if $cols_done (i32.ge_u (local.get $c) (local.get $rb)))
        (local.set $q (i32.const 0))
        (block $pairs_done
          (loop $each_pair
            (br_if $pairs_done (i32.ge_u (local.get $q) (local.get $quads)))
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $q) (i32.shl (local.get $len) (i32.const 4)))))
            (local.set $pa2 (i32.add (local.get $pa) (i32.shl (local.get $len) (i32.const 4))))
            (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $c) (local.get $bs))))
            (local.set $s0 (v128.const i64x2 0 0))
            (local.set $s1 (v128.const i64x2 0 0))
            (local.set $s2 (v128.const i64x2 0 0))
            (local.set $s3 (v128.const i64x2 0 0))
            (local.set $l (local.get $len))
            (block $l2_done
              (loop $each_l2
                (br_if $l2_done (i32.eqz (local.get $l)))
                (local.set $w (v128.load64_splat (local.get $pb)))
                (local.set $x01 (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pa))))
                (local.set $x23 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pa))))
                (local.set $x45 (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pa2))))
                (local.set $x67 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pa2))))
                (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $x01) (local.get $w))))
                (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $x23) (local.get $w))))
                (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul (local.get $x45) (local.get $w))))
                (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (local.get $x67) (local.get $w))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
                (local.set $pa2 (i32.add (local.get $pa2) (i32.const 16)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 8)))
                (local.set $l (i32.sub (local.get $l) (i32.const 1)))
                (br $each_l2)))
            ;; out[(4q + r)*rb + c], r = 0..7
            (local.set $o (i32.add (local.get $out)
              (i32.add (i32.mul (i32.shl (local.get $q) (i32.const 2)) (local.get $rs)) (i32.shl (local.get $c) (i32.const 3)))))
            (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $s0)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $s0)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $s1)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $s1)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $s2)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $s2)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $s3)))
            (local.set $o (i32.add (local.get $o) (local.get $rs)))
            (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $s3)))
            (local.set $q (i32.add (local.get $q) (i32.const 2)))
            (br $each_pair)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $each_col))))

  ;; out -= (lane 0 + lane 1 of $s, plus pa*pb when $odd): the end of one f64 dot product.
  (func $finish (param $s v128) (param $pa i32) (param $pb i32) (param $odd i32) (param $po i32)
    (local $t f64)
    (local.set $t (f64.add (f64x2.extract_lane 0 (local.get $s)) (f64x2.extract_lane 1 (local.get $s))))
    (if (local.get $odd)
      (then (local.set $t (f64.add (local.get $t) (f64.mul (f64.load (local.get $pa)) (f64.load (local.get $pb)))))))
    (f64.store (local.get $po) (f64.sub (f64.load (local.get $po)) (local.get $t))))

  ;; out -= one dot product of len f64 at $pa and $pb (the lane order above).
  (func $dot1 (param $pa i32) (param $pb i32) (param $len i32) (param $po i32)
    (local $s v128) (local $l i32)
    (local.set $l (i32.shr_u (local.get $len) (i32.const 1)))
    (block $done
      (loop $each
        (br_if $done (i32.eqz (local.get $l)))
        (local.set $s (f64x2.add (local.get $s) (f64x2.mul (v128.load (local.get $pa)) (v128.load (local.get $pb)))))
        (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
        (local.set $l (i32.sub (local.get $l) (i32.const 1)))
        (br $each)))
    (call $finish (local.get $s) (local.get $pa) (local.get $pb) (i32.and (local.get $len) (i32.const 1)) (local.get $po)))

  ;; out[i*ldo + j] -= sum_l A[i*lda + l]*B[j*ldb + l], i < ra, j < rb, l < len. $a, $b, $out are byte
  ;; addresses, $lda, $ldb, $ldo strides in bytes. Four rows of A by two of B at a time (eight f64x2
  ;; accumulators), the remainders one product at a time.
  (func (export "subnt")
    (param $a i32) (param $lda i32) (param $ra i32) (param $b i32) (param $ldb i32) (param $rb i32)
    (param $len i32) (param $out i32) (param $ldo i32)
    (local $i i32) (local $j i32) (local $ra4 i32) (local $rb2 i32) (local $l i32) (local $odd i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $q0 i32) (local $q1 i32) (local $o i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $w0 v128) (local $w1 v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $ra4 (i32.and (local.get $ra) (i32.const -4)))
    (local.set $rb2 (i32.and (local.get $rb) (i32.const -2)))
    (local.set $odd (i32.and (local.get $len) (i32.const 1)))
    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $each_rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $ra4)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $each_cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $rb2)))
            (local.set $p0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
            (local.set $p1 (i32.add (local.get $p0) (local.get $lda)))
            (local.set $p2 (i32.add (local.get $p1) (local.get $lda)))
            (local.set $p3 (i32.add (local.get $p2) (local.get $lda)))
            (local.set $q0 (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $ldb))))
            (local.set $q1 (i32.add (local.get $q0) (local.get $ldb)))
            (local.set $s00 (v128.const i64x2 0 0))
            (local.set $s01 (v128.const i64x2 0 0))
            (local.set $s10 (v128.const i64x2 0 0))
            (local.set $s11 (v128.const i64x2 0 0))
            (local.set $s20 (v128.const i64x2 0 0))
            (local.set $s21 (v128.const i64x2 0 0))
            (local.set $s30 (v128.const i64x2 0 0))
            (local.set $s31 (v128.const i64x2 0 0))
            (local.set $l (i32.shr_u (local.get $len) (i32.const 1)))
            (block $l_done
              (loop $each_l
                (br_if $l_done (i32.eqz (local.get $l)))
                (local.set $w0 (v128.load (local.get $q0)))
                (local.set $w1 (v128.load (local.get $q1)))
                (local.set $x0 (v128.load (local.get $p0)))
                (local.set $x1 (v128.load (local.get $p1)))
                (local.set $x2 (v128.load (local.get $p2)))
                (local.set $x3 (v128.load (local.get $p3)))
                (local.set $s00 (f64x2.add (local.get $s00) (f64x2.mul (local.get $x0) (local.get $w0))))
                (local.set $s01 (f64x2.add (local.get $s01) (f64x2.mul (local.get $x0) (local.get $w1))))
                (local.set $s10 (f64x2.add (local.get $s10) (f64x2.mul (local.get $x1) (local.get $w0))))
                (local.set $s11 (f64x2.add (local.get $s11) (f64x2.mul (local.get $x1) (local.get $w1))))
                (local.set $s20 (f64x2.add (local.get $s20) (f64x2.mul (local.get $x2) (local.get $w0))))
                (local.set $s21 (f64x2.add (local.get $s21) (f64x2.mul (local.get $x2) (local.get $w1))))
                (local.set $s30 (f64x2.add (local.get $s30) (f64x2.mul (local.get $x3) (local.get $w0))))
                (local.set $s31 (f64x2.add (local.get $s31) (f64x2.mul (local.get $x3) (local.get $w1))))
                (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
                (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
                (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
                (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
                (local.set $q0 (i32.add (local.get $q0) (i32.const 16)))
                (local.set $q1 (i32.add (local.get $q1) (i32.const 16)))
                (local.set $l (i32.sub (local.get $l) (i32.const 1)))
                (br $each_l)))
            ;; out[(i + r)*ldo + j + c]
            (local.set $o (i32.add (local.get $out) (i32.add (i32.mul (local.get $i) (local.get $ldo)) (i32.shl (local.get $j) (i32.const 3)))))
            (call $finish (local.get $s00) (local.get $p0) (local.get $q0) (local.get $odd) (local.get $o))
            (call $finish (local.get $s01) (local.get $p0) (local.get $q1) (local.get $odd) (i32.add (local.get $o) (i32.const 8)))
            (local.set $o (i32.add (local.get $o) (local.get $ldo)))
            (call $finish (local.get $s10) (local.get $p1) (local.get $q0) (local.get $odd) (local.get $o))
            (call $finish (local.get $s11) (local.get $p1) (local.get $q1) (local.get $odd) (i32.add (local.get $o) (i32.const 8)))
            (local.set $o (i32.add (local.get $o) (local.get $ldo)))
            (call $finish (local.get $s20) (local.get $p2) (local.get $q0) (local.get $odd) (local.get $o))
            (call $finish (local.get $s21) (local.get $p2) (local.get $q1) (local.get $odd) (i32.add (local.get $o) (i32.const 8)))
            (local.set $o (i32.add (local.get $o) (local.get $ldo)))
            (call $finish (local.get $s30) (local.get $p3) (local.get $q0) (local.get $odd) (local.get $o))
            (call $finish (local.get $s31) (local.get $p3) (local.get $q1) (local.get $odd) (i32.add (local.get $o) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $each_cols)))
        ;; the last column of B when rb is odd, for these four rows
        (if (i32.lt_u (local.get $rb2) (local.get $rb))
          (then
            (local.set $l (i32.const 0))
            (block $r_done
              (loop $each_r
                (br_if $r_done (i32.ge_u (local.get $l) (i32.const 4)))
                (call $dot1
                  (i32.add (local.get $a) (i32.mul (i32.add (local.get $i) (local.get $l)) (local.get $lda)))
                  (i32.add (local.get $b) (i32.mul (local.get $rb2) (local.get $ldb)))
                  (local.get $len)
                  (i32.add (local.get $out) (i32.add (i32.mul (i32.add (local.get $i) (local.get $l)) (local.get $ldo)) (i32.shl (local.get $rb2) (i32.const 3)))))
                (local.set $l (i32.add (local.get $l) (i32.const 1)))
                (br $each_r)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $each_rows)))
    ;; the last ra mod 4 rows of A, every column of B
    (block $tail_done
      (loop $each_tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $ra)))
        (local.set $j (i32.const 0))
        (block $tcols_done
          (loop $each_tcol
            (br_if $tcols_done (i32.ge_u (local.get $j) (local.get $rb)))
            (call $dot1
              (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda)))
              (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $ldb)))
              (local.get $len)
              (i32.add (local.get $out) (i32.add (i32.mul (local.get $i) (local.get $ldo)) (i32.shl (local.get $j) (i32.const 3)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $each_tcol)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each_tail))))
)
