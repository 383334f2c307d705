# Hot-add request -> _OST per DIMM size, memplug against QEMU: PVM (left,
# bench/hotplug.py) and real KVM nested under TCG (right, bench/realkvm.py).
set terminal svg size 900,380 dynamic font "sans,11"
set termoption noenhanced
set output out
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top left
set yrange [0:*]
set multiplot layout 1,2
set title "PVM (software KVM)"
set ylabel "device_add → _OST (s)"
plot pvm using 2:xtic(1) title "memplug", '' using 3 title "QEMU -M pc"
set title "real KVM, nested under TCG"
set ylabel "device_add → _OST (ms)"
plot real using 2:xtic(1) title "memplug", '' using 3 title "QEMU -M pc"
unset multiplot
