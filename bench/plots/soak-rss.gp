# VMM VmRSS after each add/remove cycle minus VmRSS before the first
# (bench/hotplug.py's soak: memplug 50 cycles, QEMU 5).
set terminal svg size 640,400 dynamic font "sans,11"
set termoption noenhanced
set output out
set grid
set key bottom right
set xlabel "add/remove cycle"
set ylabel "VmRSS − VmRSS before the first cycle (KiB)"
set yrange [0:*]
plot data using 1:2 with linespoints title "memplug", \
     data using 1:3 with linespoints title "QEMU -M pc"
